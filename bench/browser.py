"""`python -m bench.browser`: every page of the app timed in headless Chromium beside a bare Streamlit page.

For each database size: every page an administrator sees, from navigation until the app is idle (the script run
finished, nothing left running or loading), median of --repeat loads after a warm-up, for the dashboards' default
period and for a year; the bare page (bench/bare_app.py) in the same rounds; the server's CPU while 10 and 30
sessions sit idle on the overview; the overview opened by 20 sessions at once, by 20 browser tabs and by 20 light
clients over Streamlit's websocket protocol (the server's part). Written into the browser section of
bench/RESULTS.md (bench/results.py keeps the SQL section).
"""

import argparse
import json
import os
import secrets
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import results as results_md
from bench.harness import build, machine, parse_sizes

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_PORT = 8610  # the app on PORT, the bare page on PORT + 1, the stock bare page on PORT + 2
USERNAME = "bench"
PASSWORD_ENV = "CHIBO_BENCH_PASSWORD"
# Targets of issue 13.
RATIO_TARGETS = {100_000: 3.0, 1_000_000: 4.0}
IDLE_TARGET_PCT, IDLE_TARGET_SESSIONS = 5.0, 10
TOGETHER_TARGET = 3.0
# Pages whose figures follow the dashboards' period filter (ui.dashboard_filters), read from the URL as ?ky=.
PERIOD_PARAM = "ky"
# Every run of the bare page beside this many app page loads, so both meet the same load on a shared machine.
BARE_EVERY = 6

# "Idle": the script run is over and nothing on the page still runs or loads. The page watches itself (an init
# script in every document): it reads the top-level fields of each ForwardMsg the app's websocket receives, and
# from the first that ends a script run (script_finished, field 6, FINISHED_SUCCESSFULLY 0 or
# FINISHED_WITH_COMPILE_ERROR 1) checks at every frame whether the page is idle, and notes both times
# (performance.now(), from the navigation). The benchmark only reads those two numbers now and then: an earlier
# version had Chrome hand every websocket frame to Playwright (and Python parse it) and asked the page whether it
# was idle every 5 ms, which took the tab's main thread (a forced layout each time) and the machine's cores from
# the page being timed, the more so the more the page draws and receives (bench/NOTES.md).
WATCH_JS = """(() => {
  window.__bench = {finishedAt: null, idleAt: null};
  const ends = (buf) => {
    const b = new Uint8Array(buf); let i = 0;
    const varint = () => {
      let r = 0, s = 1, x;
      do { x = b[i++]; r += (x & 0x7f) * s; s *= 128; } while (x & 0x80 && i < b.length);
      return r;
    };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) { const v = varint(); if (field === 6) return v === 0 || v === 1; }
      else if (wire === 2) { const n = varint(); i += n; }  // not i += varint(): i is read before the call
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return false;
    }
    return false;
  };
  const idle = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const shown = sel => [...document.querySelectorAll(sel)].some(e => e.getClientRects().length > 0);
    return !shown("[data-testid='stSkeleton'], [data-testid='stSpinner'], [data-testid='stStatusWidget'] "
                  + "[data-testid='stStatusWidgetRunningIcon']");
  };
  // bb: the times of one navigation; a click in the menu starts another in the same document (MENU_JS)
  const check = (bb) => {
    if (bb.idleAt !== null || bb !== window.__bench) return;
    if (idle()) { bb.idleAt = performance.now(); return; }
    requestAnimationFrame(() => check(bb));
  };
  const seen = (data) => {
    const bb = window.__bench;
    if (bb.finishedAt !== null || !ends(data)) return;
    bb.finishedAt = performance.now();
    requestAnimationFrame(() => check(bb));
  };
  window.WebSocket = class extends window.WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data instanceof ArrayBuffer) seen(e.data);
        else if (e.data instanceof Blob) e.data.arrayBuffer().then(seen);
      });
    }
  };
})();"""
# What the benchmark reads: the document (its time origin, epoch ms) and the two times, once both are there.
WATCHED_JS = """() => [performance.timeOrigin, window.__bench ? window.__bench.finishedAt : null,
                      window.__bench ? window.__bench.idleAt : null]"""
# A click on a page's entry in the sidebar menu, as a person moves between pages: the same document, the same
# session, the page's code already in the tab. The watcher is re-armed first (a new window.__bench); returns the
# click's time (performance.now()).
MENU_JS = """href => {
  const link = [...document.querySelectorAll("[data-testid='stSidebarNav'] a")].find(a => a.href === href);
  if (!link) throw new Error('no menu entry ' + href);
  window.__bench = {finishedAt: null, idleAt: null};
  const clicked = performance.now();
  link.click();
  return clicked;
}"""
POLL_MS = 25


# ---- pure parts ------------------------------------------------------------------------------------------

def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def percentile(values: list[float], pct: float) -> float | None:
    """The pct-th percentile by linear interpolation between the closest ranks (numpy's default), None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float | None, base: float | None) -> float | None:
    """value / base, or None when either is missing or base is 0."""
    return None if value is None or not base else value / base


def cpu_ticks(stat_line: str) -> int:
    """utime + stime (clock ticks) from a /proc/PID/stat line; the command name in brackets may hold spaces."""
    fields = stat_line[stat_line.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15
    return int(fields[11]) + int(fields[12])


def read_ticks(pid: int) -> int:
    """CPU clock ticks the process has used so far (user + system)."""
    return cpu_ticks(Path(f"/proc/{pid}/stat").read_text())


def cpu_percent(ticks: int, seconds: float, hz: int | None = None) -> float:
    """Ticks used over a wall time, as a percentage of one core."""
    hz = hz or os.sysconf("SC_CLK_TCK")
    return 100.0 * ticks / hz / seconds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _counts(text: str) -> list[int]:
    return [_positive(s) for s in text.split(",") if s.strip()] or [_positive("")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked; --sessions N stands for --idle-sessions N --together N."""
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                   help="meetings per database, comma-separated (default 100000,1000000)")
    p.add_argument("--repeat", type=_positive, default=5, help="timed loads of each page after a warm-up (default 5)")
    p.add_argument("--warmup", type=int, choices=(0, 1), default=1,
                   help="load every page once before timing (default 1; 0 for a quick check)")
    p.add_argument("--keep", action="store_true", help="reuse DB-DIR/browser-N.db when it already holds N meetings")
    p.add_argument("--db-dir", type=Path, default=Path("/tmp/bbench"), help="where the databases go (default "
                   "/tmp/bbench)")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md",
                   help="markdown file whose browser section is written (default bench/RESULTS.md)")
    p.add_argument("--json", type=Path, default=None, help="also save the raw results here")
    p.add_argument("--before", type=Path, default=None,
                   help="raw results of an earlier run (--json), shown beside this run's")
    p.add_argument("--idle-seconds", type=_seconds, default=60.0,
                   help="how long the idle sessions are watched (default 60)")
    p.add_argument("--idle-sessions", type=_counts, default=[10, 30],
                   help="numbers of idle sessions on the overview, comma-separated (default 10,30)")
    p.add_argument("--together", type=_positive, default=20,
                   help="sessions opening the overview at once (default 20)")
    p.add_argument("--sessions", type=_positive, default=None,
                   help="shorthand for a small run: N idle sessions and N opening the overview together")
    p.add_argument("--person-trials", type=_positive, default=10,
                   help="times a person's tab opens the overview alone and among the others (default 10)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the app's port; the bare pages take the next two (default {DEFAULT_PORT}; 0: any free ports)")
    p.add_argument("--pages", default=None, help="comma-separated url paths to time (default: every page)")
    args = p.parse_args(argv)
    if args.sessions is not None:
        args.idle_sessions, args.together = [args.sessions], args.sessions
    args.idle_sessions = sorted(set(args.idle_sessions))
    if not 0 <= args.port < 65535:
        p.error(f"--port {args.port}: not a port number")
    if args.before is not None and not args.before.is_file():
        p.error(f"--before {args.before}: no such file")
    return args


# ---- results ---------------------------------------------------------------------------------------------

@dataclass
class PageTime:
    """One page's load times (seconds) for one period."""

    page: str
    title: str
    period: str  # "default" or "year"
    times: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)  # seconds of the streamlit process's CPU per load
    browser_cpu: list[float] = field(default_factory=list)  # seconds of the tab's main thread per load


@dataclass
class SizeRun:
    """Everything measured on one database."""

    size: int
    build: dict[str, Any]
    bare: list[float] = field(default_factory=list)
    bare_server_cpu: list[float] = field(default_factory=list)
    bare_browser_cpu: list[float] = field(default_factory=list)
    # the same bare page served by stock Streamlit (`streamlit run`, Nagle's algorithm on), timed in the same rounds
    stock_bare: list[float] = field(default_factory=list)
    pages: list[PageTime] = field(default_factory=list)
    # page path -> seconds from a click on its entry in the sidebar menu until idle (default period, MENU_JS)
    menu: dict[str, list[float]] = field(default_factory=dict)
    idle: dict[int, float] = field(default_factory=dict)  # sessions -> % of one core
    refresh_seconds: int | None = None
    single: list[float] = field(default_factory=list)
    together: list[float] = field(default_factory=list)
    together_served: list[float] = field(default_factory=list)  # until each one's script run finished
    # while the N sessions opened the overview together: the streamlit process's CPU seconds, and the N tabs'
    # main-thread task seconds added up (Chrome's TaskDuration, waits for a core included)
    together_server_cpu: float | None = None
    together_browser_cpu: float | None = None
    load: dict[str, str] = field(default_factory=dict)
    # The server's part without the browsers (light clients over Streamlit's own websocket protocol): the overview
    # alone (seconds until its script_finished), N sessions at once, and the server's CPU seconds meanwhile.
    light_single: list[float] = field(default_factory=list)
    light_together: list[float] = field(default_factory=list)
    light_server_cpu: float | None = None
    # A person among N: one Chromium tab opens the overview while N - 1 light clients open it at the same moment
    # (the others' browsers on their own computers); the tab's times alone and among them, one per trial.
    person_n: int = 0
    person_alone: list[float] = field(default_factory=list)
    person_among: list[float] = field(default_factory=list)


def _mean(values: list[float]) -> float | None:
    # the server's CPU is counted in clock ticks (10 ms): a mean over the loads resolves less than a tick
    return statistics.fmean(values) if values else None


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def _ok(met: bool | None) -> str:
    return "–" if met is None else ("pass" if met else "**miss**")


def page_rows(run: SizeRun, before: SizeRun | None = None) -> list[str]:
    """The page table of one size: median ms and ratio to the bare page's median, per period."""
    bare = median(run.bare)
    limit = RATIO_TARGETS.get(run.size)
    old = {(p.page, p.period): median(p.times) for p in before.pages} if before else {}
    names = ["page", "period", "median ms", "ratio to bare", "server CPU ms", "browser main thread ms", "target"]
    names += ["before: median ms", "before: ratio"] if before else []
    lines = ["| " + " | ".join(names) + " | |", "|---|---|" + "---:|" * (len(names) - 2) + "---|"]
    bare_old = median(before.bare) if before else None
    cells = f"| bare Streamlit page | – | {_ms(bare)} | 1.0× | {_ms(_mean(run.bare_server_cpu))} | " \
            f"{_ms(median(run.bare_browser_cpu))} | – |"
    lines.append(cells + (f" {_ms(bare_old)} | 1.0× | |" if before else " |"))
    if run.stock_bare:
        stock = median(run.stock_bare)
        lines.append(f"| bare page, stock Streamlit | – | {_ms(stock)} | {_x(ratio(stock, bare))} | – | – | – |"
                     + (" – | – | |" if before else " |"))
    for p in run.pages:
        value = median(p.times)
        r = ratio(value, bare)
        met = None if limit is None or r is None else r <= limit
        row = f"| {p.title} (`{p.page}`) | {p.period} | {_ms(value)} | {_x(r)} | {_ms(_mean(p.server_cpu))} | " \
              f"{_ms(median(p.browser_cpu))} | {'–' if limit is None else f'≤{limit:g}×'} |"
        if before:
            was = old.get((p.page, p.period))
            row += f" {_ms(was)} | {_x(ratio(was, bare_old))} |"
        lines.append(row + f" {_ok(met)} |")
    return lines


def menu_rows(run: SizeRun) -> list[str]:
    """The pages reached from the menu: median ms and ratio to the bare page's load (not a target: the issue's
    targets are read on the loads above)."""
    if not run.menu:
        return []
    bare = median(run.bare)
    titles = {p.page: p.title for p in run.pages}
    lines = ["| page, from the menu | median ms | ratio to the bare page's load |", "|---|---:|---:|"]
    for path, times in run.menu.items():
        value = median(times)
        lines.append(f"| {titles.get(path, path)} (`{path}`) | {_ms(value)} | {_x(ratio(value, bare))} |")
    return lines


def target_lines(runs: list[SizeRun]) -> list[str]:
    """One line per target of issue 13, pass or miss, with the figures behind it."""
    out = []
    for run in runs:
        limit = RATIO_TARGETS.get(run.size)
        bare = median(run.bare)
        if limit is None:
            continue
        for period in ("default", "year"):
            rows = [p for p in run.pages if p.period == period]
            if not rows:
                continue
            over = [f"{p.page} ({_x(ratio(median(p.times), bare))})" for p in rows
                    if (ratio(median(p.times), bare) or 0) > limit]
            worst = max(rows, key=lambda p: median(p.times) or 0)
            out.append(f"- Every page ≤{limit:g}× the bare page at {run.size:,}, {period} period: "
                       + (f"**pass** (slowest {worst.page}, {_x(ratio(median(worst.times), bare))})" if not over
                          else "**miss** by " + ", ".join(over)))
            stock = median(run.stock_bare)
            if stock:
                over = [f"{p.page} ({_x(ratio(median(p.times), stock))})" for p in rows
                        if (ratio(median(p.times), stock) or 0) > limit]
                out.append(f"- Every page ≤{limit:g}× the bare page served by stock Streamlit at {run.size:,}, "
                           f"{period} period: "
                           + (f"**pass** (slowest {worst.page}, {_x(ratio(median(worst.times), stock))})"
                              if not over else "**miss** by " + ", ".join(over)))
    for run in runs:
        if IDLE_TARGET_SESSIONS in run.idle:
            pct = run.idle[IDLE_TARGET_SESSIONS]
            out.append(f"- {IDLE_TARGET_SESSIONS} idle sessions under {IDLE_TARGET_PCT:g}% of a core at {run.size:,}: "
                       f"{'**pass**' if pct < IDLE_TARGET_PCT else '**miss**'} ({pct:.1f}%)")
        if run.person_among:
            single, p95 = median(run.person_alone), percentile(run.person_among, 95)
            r = ratio(p95, single)
            out.append(f"- {run.person_n} sessions together (a person's tab among {run.person_n - 1} light "
                       f"clients: every browser on its own computer), p95 under {TOGETHER_TARGET:g}× one alone at "
                       f"{run.size:,}: {'**pass**' if r is not None and r < TOGETHER_TARGET else '**miss**'} "
                       f"(p95 {_ms(p95)} ms over {len(run.person_among)} trials, alone {_ms(single)} ms, {_x(r)})")
        for kind, alone, together_times in (
                ("light clients: the server's part", run.light_single, run.light_together),
                (f"{len(run.together)} Chromium tabs on the same cores: mostly the browsers", run.single,
                 run.together)):
            single, p95 = median(alone), percentile(together_times, 95)
            r = ratio(p95, single)
            if r is not None:
                out.append(f"- {len(together_times)} sessions together ({kind}), p95 under {TOGETHER_TARGET:g}× "
                           f"one alone at {run.size:,}: {'**pass**' if r < TOGETHER_TARGET else '**miss**'} "
                           f"(p95 {_ms(p95)} ms, alone {_ms(single)} ms, {_x(r)})")
    return out


def markdown(runs: list[SizeRun], command: str, repeat: int, idle_seconds: float, info: dict[str, str],
             before: list[SizeRun] | None = None, when: str | None = None) -> str:
    """The browser section of RESULTS.md."""
    when = when or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    old = {r.size: r for r in before or []}
    parts = [
        "# Browser benchmark (issue 13)",
        "",
        f"Written by `{command}` on {when}. Headless Chromium (Debian's /usr/bin/chromium, Playwright's sync API) "
        "on the same machine as the servers; the machine is shared with other work, so read medians and ratios, "
        "not single times. What the figures say about the app shell: `bench/NOTES.md`, \"The app shell in the "
        "browser\".",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "## Method",
        "",
        "- Databases built by `python -m lib --db FILE demo --meetings N`; an administrator `bench` is created by "
        f"`python -m lib create-user` with a password from ${PASSWORD_ENV} or a generated one (never stored).",
        "- The app (`python -m lib serve`: `streamlit run app.py`) and a bare page (`bench/bare_app.py`: a title "
        "and a line, by `python -m bench.bare_serve`) each run as their own headless streamlit process, at the "
        "same time, both with Nagle's algorithm off on their connections (`lib.ui.no_nagle`; stock Streamlit "
        "1.67 leaves it on, which cost the bare page about 45 ms a load). The same bare page served by stock "
        "Streamlit (`streamlit run`, Nagle's algorithm on: what the issue's first figures measured) is timed in the "
        "same rounds, and the ratio targets are read against each.",
        "- **Page time**: from the navigation (the tab's `location.href` set to the page's address) until the "
        "server's `script_finished` message for the new session "
        "arrived and the page shows nothing running or loading (no skeleton, spinner or running indicator). The "
        "page watches itself (a script in every document reads the messages of the app's websocket and checks at "
        "every frame once the run finished); the benchmark reads the two times it noted every 25 ms. The "
        "browser is logged in once (the re-login cookie), so every load is a new session that logs in from its "
        "cookie, as a bookmark or a reload does. Every page is loaded once to warm up (unless --warmup 0), then "
        f"{repeat} time(s) in rounds (each round loads every page once); the bare page is loaded in the same rounds "
        f"(once every {BARE_EVERY} app pages). **ratio** is the page's median over the bare page's median.",
        "- **Where the time goes**, per load: **server CPU** is the streamlit process's utime + stime during the "
        "load (mean; the only session on that server then), **browser main thread** is Chrome's `TaskDuration` of "
        "the tab (median; script, style, layout and paint since the document began, from the DevTools "
        "Performance domain). The server's is CPU time; Chrome's is the time its main-thread tasks took, which "
        "counts a task's wait for a core: on a loaded machine it grows with the load (20 tabs opened together "
        "summed to about their wall time each), so compare it within one run only.",
        f"- **Periods**: the dashboards read their period from the URL (`?{PERIOD_PARAM}=`); *default* opens them "
        f"without one (the last complete quarter), *year* with `?{PERIOD_PARAM}=` the last complete year. Pages "
        "without the period filter have only the default row.",
        f"- **Idle CPU**: N sessions open the overview and sit there for {idle_seconds:g} s; the server's CPU is "
        "utime + stime of the streamlit process (/proc/PID/stat) over that time, as % of one core. The sessions "
        "keep their live refresh (setting `refresh_seconds`).",
        "- **Together**: one session alone opens the overview (median of the loads), then N sessions, each already "
        "on the overview once (so its browser cache holds the static files), are sent to it again at once; each "
        "one's time counts from that moment.",
        "- **Together, the server's part**: the same with light clients instead of tabs (each a websocket to "
        "`/_stcore/stream` with the login cookie, asking for a run of the overview by Streamlit's `BackMsg "
        "rerun_script` and timed until its `ForwardMsg script_finished`; nothing is drawn). The N tabs share the "
        "machine's cores with the server and their drawing is most of their time, so the tabs' figure measures the "
        "browsers on this machine; the light clients' figure is what the server gives N people whose browsers run "
        "on their own computers. Both are shown; the target is read on each.",
        "- **From the menu**: after the loads, the same tab goes through the pages again by clicking each one's "
        "entry in the sidebar menu (default period), as a person moves between pages: the same document and "
        "session, the page's code already in the tab. Timed from the click until the new page's run finished and "
        "nothing runs or loads (the same watcher), one round to warm up (unless --warmup 0), then "
        f"{repeat} round(s). Beside the bare page's load for scale; the targets are read on the loads.",
    ]
    if before:
        parts.append("- **before**: the medians of the earlier run given by `--before` (its own bare page beside "
                     "it), from the same tool on the same databases.")
    parts.append("")
    for run in runs:
        parts += [f"## {run.size:,} meetings", "",
                  f"Database {'reused' if run.build.get('cached') else 'built'}; load while measuring: "
                  + "; ".join(f"{k} {v}" for k, v in run.load.items()), "",
                  *page_rows(run, old.get(run.size)), ""]
        if run.menu:
            parts += [*menu_rows(run), ""]
        idle = "; ".join(f"{n} sessions {pct:.1f}% of a core" for n, pct in sorted(run.idle.items()))
        refresh = f" (live refresh every {run.refresh_seconds} s)" if run.refresh_seconds else ""
        parts += [f"- Idle on the overview for {idle_seconds:g} s{refresh}: {idle or '–'}"]
        if run.together:
            parts += [f"- Overview alone: median {_ms(median(run.single))} ms; {len(run.together)} together: "
                      f"p50 {_ms(percentile(run.together, 50))} ms, p95 {_ms(percentile(run.together, 95))} ms, "
                      f"slowest {_ms(max(run.together))} ms"
                      + (f"; their script runs finished (the server's part): p50 "
                         f"{_ms(percentile(run.together_served, 50))} ms, p95 "
                         f"{_ms(percentile(run.together_served, 95))} ms" if run.together_served else "")
                      + (f"; meanwhile the server used {_ms(run.together_server_cpu)} ms of CPU and the "
                         f"{len(run.together)} tabs' main-thread tasks took {_ms(run.together_browser_cpu)} ms "
                         "(waits for a core included)"
                         if run.together_server_cpu is not None and run.together_browser_cpu is not None else "")]
        if run.light_together:
            parts += [f"- The server's part, {len(run.light_together)} light clients (Streamlit's websocket protocol, "
                      "no browser): overview alone median "
                      f"{_ms(median(run.light_single))} ms; {len(run.light_together)} together: p50 "
                      f"{_ms(percentile(run.light_together, 50))} ms, p95 {_ms(percentile(run.light_together, 95))} "
                      f"ms, slowest {_ms(max(run.light_together))} ms; the server used "
                      f"{_ms(run.light_server_cpu)} ms of CPU meanwhile"]
        if run.person_among:
            parts += [f"- A person among {run.person_n}: one tab opens the overview while {run.person_n - 1} "
                      "light clients open it at the same moment, "
                      f"{len(run.person_among)} trials: alone median {_ms(median(run.person_alone))} ms; among them "
                      f"p50 {_ms(percentile(run.person_among, 50))} ms, p95 {_ms(percentile(run.person_among, 95))} "
                      f"ms, slowest {_ms(max(run.person_among))} ms"]
        was = old.get(run.size)
        if was:
            parts += ["- Before: idle " + "; ".join(f"{n} sessions {pct:.1f}%" for n, pct in sorted(was.idle.items()))
                      + f"; overview alone {_ms(median(was.single))} ms, together p50 "
                      f"{_ms(percentile(was.together, 50))} ms, p95 {_ms(percentile(was.together, 95))} ms"]
        parts.append("")
    parts += ["## Targets", "", *target_lines(runs), ""]
    return "\n".join(parts)


def to_json(runs: list[SizeRun]) -> str:
    """The raw results, for --before of a later run."""
    return json.dumps([asdict(r) for r in runs], indent=1)


def from_json(text: str) -> list[SizeRun]:
    """Raw results saved by to_json."""
    out = []
    for r in json.loads(text):
        r["pages"] = [PageTime(**p) for p in r["pages"]]
        r["idle"] = {int(k): v for k, v in r["idle"].items()}
        out.append(SizeRun(**r))
    return out


# ---- the run ---------------------------------------------------------------------------------------------

def admin_password() -> str:
    """The benchmark administrator's password: from the environment, or a fresh one for this run."""
    return os.environ.get(PASSWORD_ENV) or f"b{secrets.token_urlsafe(18)}9"


def ensure_admin(db: Path, password: str) -> None:
    """Create the administrator through the command line, or set its password when the database has it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        exists = conn.execute("select 1 from users where username = ?", (USERNAME,)).fetchone() is not None
    finally:
        conn.close()
    if exists:
        from lib import db as dbm
        from lib import users
        from lib.domain import SYSTEM

        with dbm.write(db) as conn_w:
            users.set_password(conn_w, SYSTEM, USERNAME, password)
        return
    proc = subprocess.run([sys.executable, "-m", "lib", "--db", str(db), "create-user", USERNAME, "--role", "admin",
                           "--full-name", "Benchmark", "--password-stdin"], input=password + "\n", text=True,
                          cwd=ROOT, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"create-user failed:\n{proc.stderr}")


def app_pages() -> list[tuple[str, str, bool]]:
    """(url path, title, follows the period filter) of every page an administrator sees, in menu order."""
    from lib import nav
    from lib.i18n import t

    out = []
    for spec in nav.pages_for("admin"):
        source = (ROOT / spec.file).read_text(encoding="utf-8")
        out.append((spec.url_path, t(spec.title_key), "dashboard_filters(" in source))
    return out


class Browser:
    """Playwright pages that note, each in itself, when the app's script run finished and when it was idle."""

    def __init__(self, browser: Any, storage: dict | None = None):
        self.browser = browser
        self.storage = storage
        self.contexts: list[Any] = []
        self.cdp: dict[Any, Any] = {}
        self.served: dict[Any, float] = {}

    def page(self) -> Any:
        """A new page in a context of its own (separate cookies), carrying the login cookie if there is one."""
        from tests.e2e.browser import VIEWPORT, WAIT_MS

        context = self.browser.new_context(viewport=VIEWPORT, locale="vi-VN", storage_state=self.storage)
        context.set_default_timeout(WAIT_MS * 4)
        self.contexts.append(context)
        page = context.new_page()
        page.add_init_script(WATCH_JS)
        # Chrome's own count of the tab's main-thread work (script, style, layout, paint) since the document began
        self.cdp[page] = context.new_cdp_session(page)
        self.cdp[page].send("Performance.enable")
        return page

    def start(self, page: Any, url: str) -> float:
        """Begin loading url without waiting; returns the current document's time origin (the one to wait past)."""
        return page.evaluate("url => { setTimeout(() => { window.location.href = url; }, 0); "
                             "return performance.timeOrigin; }", url)

    @staticmethod
    def _watched(page: Any, old: float) -> tuple[float, float] | None:
        # (finished, idle) as epoch seconds once the new document has both; None before
        try:
            origin, finished, idle = page.evaluate(WATCHED_JS)
        except Exception:  # noqa: BLE001 - the page is between two documents
            return None
        if origin == old or finished is None or idle is None:
            return None
        return (origin + finished) / 1000, (origin + idle) / 1000

    def wait(self, pending: dict[Any, float], timeout: float = 240.0) -> dict[Any, float]:
        """Wait until each page's new document is idle; the epoch time (time.time()) at which each became idle."""
        ended: dict[Any, float] = {}
        self.served = {}  # when each page's script run finished (the server's part done), epoch seconds
        deadline = time.time() + timeout
        any_page = next(iter(pending))
        while len(ended) < len(pending):
            for page, old in pending.items():
                if page not in ended and (times := self._watched(page, old)) is not None:
                    self.served[page], ended[page] = times
            if time.time() > deadline:
                raise TimeoutError(f"{len(pending) - len(ended)} pages did not finish in {timeout:g} s")
            if len(ended) < len(pending):
                any_page.wait_for_timeout(POLL_MS)
        return ended

    def load(self, page: Any, url: str) -> float:
        """Seconds from navigation to url until the app is idle."""
        t0 = time.time()
        old = self.start(page, url)
        return self.wait({page: old})[page] - t0

    def menu(self, page: Any, href: str, timeout: float = 240.0) -> float:
        """Seconds from a click on the menu entry linking to href (the tab on an app page) until the page is idle."""
        clicked = page.evaluate(MENU_JS, href)
        deadline = time.time() + timeout
        while (idle := page.evaluate("() => window.__bench.idleAt")) is None:
            if time.time() > deadline:
                raise TimeoutError(f"{href} did not finish in {timeout:g} s")
            page.wait_for_timeout(POLL_MS)
        # Streamlit writes the new page's address into the tab a little after the run (80 ms after its
        # script_finished, once seen): wait for it, outside the time, before calling the click lost
        wanted = urlsplit(href).path
        try:
            page.wait_for_function("path => location.pathname === path", arg=wanted, timeout=5000, polling=POLL_MS)
        except Exception as error:  # noqa: BLE001 - Playwright's TimeoutError; say what was shown instead
            shown = page.evaluate("() => location.pathname")
            raise RuntimeError(f"the menu entry {href} led to {shown}") from error
        return (idle - clicked) / 1000

    def main_thread(self, page: Any) -> float:
        """Seconds of main-thread work in the tab since its document began (Chrome's TaskDuration)."""
        metrics = self.cdp[page].send("Performance.getMetrics")["metrics"]
        return next((m["value"] for m in metrics if m["name"] == "TaskDuration"), 0.0)

    def timed(self, page: Any, url: str, pid: int) -> tuple[float, float, float]:
        """One load: wall seconds, the server's CPU seconds meanwhile, and the tab's main-thread seconds."""
        ticks = read_ticks(pid)
        wall = self.load(page, url)
        server = cpu_percent(read_ticks(pid) - ticks, 1.0) / 100
        return wall, server, self.main_thread(page)

    def close(self) -> None:
        """Close every context this object opened."""
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def login_state(browser: Any, url: str, password: str) -> dict:
    """Log in once through the login form; the context's cookies for the other sessions."""
    from tests.e2e.browser import VIEWPORT, WAIT_MS, login, watch

    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        watch(page)
        login(page, url, USERNAME, password)
        return context.storage_state()
    finally:
        context.close()


def uptime() -> str:
    """The load averages, as `uptime` shows them."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_size(pw_browser: Any, size: int, db: Path, build_info: dict, args: argparse.Namespace,
                 log: Callable[[str], None]) -> SizeRun:
    """Start the app and the bare page on this database and take every measurement."""
    from lib import db as dbm
    from lib import metrics, settings
    from tests.e2e.server import start_app, stop_app

    password = admin_password()
    ensure_admin(db, password)
    with dbm.read(db) as conn:
        refresh = settings.get_settings(conn).get("refresh_seconds")
    run = SizeRun(size, build_info, refresh_seconds=refresh, load={"at start": uptime()})
    year = metrics.last_complete("year", date.today()).label
    wanted = None if not args.pages else {p.strip() for p in args.pages.split(",")}
    targets = []
    pages = app_pages()  # each call reads every page's source
    overview_path = pages[0][0]  # the default page, the menu's first entry
    for path, title, periodic in pages:
        if wanted is None or path in wanted:
            targets.append(PageTime(path, title, "default"))
            if periodic:
                targets.append(PageTime(path, title, "year"))
    urls = {}
    app = bare = stock = None
    try:
        app = start_app(db, args.db_dir / f"app-{size}.log", port=args.port or None, testing=False)
        bare = start_app(db, args.db_dir / f"bare-{size}.log", script="bench/bare_app.py",
                         port=args.port + 1 if args.port else None, testing=False)
        stock = start_app(db, args.db_dir / f"stock-{size}.log", script="bench/bare_app.py",
                          port=args.port + 2 if args.port else None, testing=False, stock=True)
        for p in targets:
            urls[id(p)] = app.at(p.page + (f"?{PERIOD_PARAM}={year}" if p.period == "year" else ""))
        storage = login_state(pw_browser, app.url, password)
        b = Browser(pw_browser, storage)
        try:
            page, bare_page, stock_page = b.page(), b.page(), b.page()
            page.goto("about:blank")
            bare_page.goto("about:blank")
            stock_page.goto("about:blank")
            b.load(bare_page, bare.url)
            b.load(stock_page, stock.url)
            b.load(page, urls[id(targets[0])])  # the static files in the browser's cache
            if args.warmup:
                log(f"[{size:,}] warm-up: {len(targets)} page loads")
                for p in targets:
                    b.load(page, urls[id(p)])
            for round_no in range(args.repeat):
                log(f"[{size:,}] round {round_no + 1}/{args.repeat}")
                for i, p in enumerate(targets):
                    if i % BARE_EVERY == 0:
                        wall, server, tab = b.timed(bare_page, bare.url, bare.proc.pid)
                        run.bare.append(wall)
                        run.bare_server_cpu.append(server)
                        run.bare_browser_cpu.append(tab)
                        run.stock_bare.append(b.load(stock_page, stock.url))
                    wall, server, tab = b.timed(page, urls[id(p)], app.proc.pid)
                    p.times.append(wall)
                    p.server_cpu.append(server)
                    p.browser_cpu.append(tab)
            run.pages = targets
            run.load["after the page loads"] = uptime()
            # the same pages reached from the menu, in the tab left on the last one (its default period)
            menu = [(p.page, app.url + "/" if p.page == overview_path else app.at(p.page))
                    for p in targets if p.period == "default"]
            if len(menu) > 1:
                log(f"[{size:,}] the same pages from the menu: {args.repeat} round(s)")
                for round_no in range(args.repeat + (1 if args.warmup else 0)):
                    for path, href in menu:
                        took = b.menu(page, href)
                        if round_no or not args.warmup:
                            run.menu.setdefault(path, []).append(took)
        finally:
            b.close()
        overview = app.at(overview_path)
        run.idle = idle_cpu(pw_browser, storage, app.proc.pid, overview, args, log, size)
        run.load["after the idle sessions"] = uptime()
        cpu: dict[str, float] = {}
        run.single, run.together = together(pw_browser, storage, overview, args, log, size, run.together_served,
                                            app.proc.pid, cpu)
        run.together_server_cpu, run.together_browser_cpu = cpu.get("server"), cpu.get("browsers")
        log(f"[{size:,}] the overview alone, then {args.together} light clients at once (no browser)")
        run.light_single, run.light_together, run.light_server_cpu = light_together(
            app.url, storage, overview_path, args.together, args.repeat, app.proc.pid)
        log(f"[{size:,}] a person's tab opening the overview among {args.together - 1} light clients")
        run.person_n = args.together
        run.person_alone, run.person_among = person_among(pw_browser, storage, overview, app.url, overview_path,
                                                          args.together, args.person_trials)
        run.load["at end"] = uptime()
    finally:
        for server in (app, bare, stock):
            if server is not None:
                stop_app(server)
    return run


def idle_cpu(pw_browser: Any, storage: dict, pid: int, url: str, args: argparse.Namespace,
             log: Callable[[str], None], size: int) -> dict[int, float]:
    """% of one core the server uses while N sessions sit on the overview, for each N (sessions added up)."""
    b = Browser(pw_browser, storage)
    out = {}
    pages: list[Any] = []
    try:
        for n in args.idle_sessions:
            log(f"[{size:,}] {n} idle sessions on the overview for {args.idle_seconds:g} s")
            while len(pages) < n:
                page = b.page()
                page.goto("about:blank")
                b.load(page, url)
                pages.append(page)
            pages[0].wait_for_timeout(1000)  # the last session's cookie and component traffic settles
            ticks, start = read_ticks(pid), time.perf_counter()
            pages[0].wait_for_timeout(args.idle_seconds * 1000)
            out[n] = cpu_percent(read_ticks(pid) - ticks, time.perf_counter() - start)
    finally:
        b.close()
    return out


def together(pw_browser: Any, storage: dict, url: str, args: argparse.Namespace, log: Callable[[str], None],
             size: int, served: list[float], pid: int | None = None,
             cpu: dict[str, float] | None = None) -> tuple[list[float], list[float]]:
    """The overview's load time for one session alone (repeat loads) and for N sessions sent there at once.

    served gets, for the N sessions, when each one's script run was seen finished (the server's part); cpu (with
    the server's pid) the CPU seconds of the server and of the N tabs' main threads during the N loads."""
    b = Browser(pw_browser, storage)
    try:
        log(f"[{size:,}] the overview alone, then {args.together} sessions at once")
        page = b.page()
        page.goto("about:blank")
        b.load(page, url)  # warm-up
        single = [b.load(page, url) for _ in range(args.repeat)]
        pages = [b.page() for _ in range(args.together)]
        for p in pages:
            # Each session is a browser context of its own, with its own cache: it loads the overview once, so
            # that the timed load fetches no more static files than the session alone did.
            p.goto("about:blank")
            b.load(p, url)
        ticks = read_ticks(pid) if pid else 0
        t0 = time.time()
        pending = {p: b.start(p, url) for p in pages}
        ended = b.wait(pending)
        if pid and cpu is not None:
            cpu["server"] = cpu_percent(read_ticks(pid) - ticks, 1.0) / 100
            # each tab's count is its new document's, begun with the navigation (as for the single loads)
            cpu["browsers"] = sum(b.main_thread(p) for p in pages)
        served[:] = [b.served[p] - t0 for p in pages]
        return single, [ended[p] - t0 for p in pages]
    finally:
        b.close()


# ---- light clients: the server's part of N sessions, without N browsers on the same cores ------------------------
# Twenty Chromium tabs on the machine's two cores measure the tabs (their main-thread work is 5-10× the server's
# CPU for a load): a light client speaks Streamlit's own websocket protocol instead, as the browser's app does: it
# opens /_stcore/stream with the login cookie, asks for a run of the page (BackMsg rerun_script) and counts until
# the run's ForwardMsg script_finished arrives. It draws nothing, so what it times is the server's part.

def stream_url(base_url: str) -> str:
    """The websocket address of a Streamlit server's session stream."""
    return base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/") + "/_stcore/stream"


def rerun_request(page_name: str, query: str = "") -> bytes:
    """A BackMsg asking for a run of the page at url path page_name, as a browser sends on opening it."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.page_name = page_name
    msg.rerun_script.query_string = query
    return msg.SerializeToString()


def cookie_header(storage: dict | None) -> str:
    """The Cookie header a browser with this Playwright storage state sends (the login cookie among them)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in (storage or {}).get("cookies", []))


async def light_open(url: str, cookie: str, page_name: str, started: float | None = None,
                     headings: list[str] | None = None) -> float:
    """One light client opens page_name; seconds from started (or its own start) until the run finished.

    headings, when given, gets the headings the run drew (so a caller can check which page it was)."""
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from tests.e2e.browser import _run_finished

    started = time.perf_counter() if started is None else started
    async with websockets.connect(stream_url(url), subprotocols=["streamlit"], max_size=None,
                                  additional_headers={"Cookie": cookie}, open_timeout=120) as ws:
        await ws.send(rerun_request(page_name))
        async for frame in ws:
            if headings is not None and isinstance(frame, bytes):
                msg = ForwardMsg()
                msg.ParseFromString(frame)
                if msg.WhichOneof("type") == "delta" and msg.delta.new_element.WhichOneof("type") == "heading":
                    headings.append(msg.delta.new_element.heading.body)
            if _run_finished(frame):
                return time.perf_counter() - started
    raise ConnectionError(f"{page_name}: the server closed the stream before the run finished")


async def _light_many(url: str, cookie: str, page_name: str, n: int) -> list[float]:
    import asyncio

    started = time.perf_counter()
    return list(await asyncio.gather(*(light_open(url, cookie, page_name, started) for _ in range(n))))


def _in_thread(coro: Any) -> Any:
    # Playwright's sync API keeps an event loop running in this thread: the clients get a loop in a thread of
    # their own.
    import asyncio
    import threading

    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=run, name="light-clients")
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def light_together(url: str, storage: dict | None, page_name: str, n: int, repeat: int,
                   pid: int | None = None) -> tuple[list[float], list[float], float | None]:
    """The page opened by one light client alone (repeat times, after a warm-up), then by n at once.

    Returns the single times, the n times (each from the common start) and the server's CPU seconds during the n."""
    cookie = cookie_header(storage)
    _in_thread(light_open(url, cookie, page_name))  # warm-up
    single = [_in_thread(light_open(url, cookie, page_name)) for _ in range(repeat)]
    ticks = read_ticks(pid) if pid else 0
    together_times = _in_thread(_light_many(url, cookie, page_name, n))
    cpu = cpu_percent(read_ticks(pid) - ticks, 1.0) / 100 if pid else None
    return single, together_times, cpu


def person_among(pw_browser: Any, storage: dict, url: str, base_url: str, page_name: str, n: int,
                 trials: int) -> tuple[list[float], list[float]]:
    """A person's tab opening the page alone, then while n - 1 light clients open it at the same moment.

    What each of n people feels when they open the page together, their browsers on their own computers (the
    server's part shared, the drawing not): the tab is timed as every page load is, from the navigation until
    the page is idle. Returns the tab's times alone and among the others, one per trial each."""
    import asyncio
    import threading

    cookie = cookie_header(storage)
    b = Browser(pw_browser, storage)
    try:
        page = b.page()
        page.goto("about:blank")
        b.load(page, url)  # warm-up: the static files in the tab's cache
        alone = [b.load(page, url) for _ in range(trials)]
        among = []
        errors: list[BaseException] = []

        def others() -> None:
            try:
                asyncio.run(_light_many(base_url, cookie, page_name, n - 1))
            except BaseException as exc:  # noqa: BLE001 - raised again below, in the caller's thread
                errors.append(exc)

        for _ in range(trials):
            crowd = threading.Thread(target=others, name="others")
            t0 = time.time()
            crowd.start()
            seen = b.start(page, url)
            ended = b.wait({page: seen})[page]
            crowd.join()
            if errors:
                raise errors[0]
            among.append(ended - t0)
        return alone, among
    finally:
        b.close()


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> int:
    """Run the browser benchmark and write its section of RESULTS.md."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # A terminated run stops its two streamlit servers and the browser on the way out (the finally blocks).
    earlier = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return _run(args, argv, log)
    finally:
        signal.signal(signal.SIGTERM, earlier)


def _run(args: argparse.Namespace, argv: list[str], log: Callable[[str], None]) -> int:
    from playwright.sync_api import sync_playwright

    from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS

    args.db_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    info.pop("load average at start (1/5/15 min)", None)
    info["load average at start (1/5/15 min)"] = uptime()
    runs = []
    with sync_playwright() as p:
        pw_browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size in args.sizes:
                db = args.db_dir / f"browser-{size}.db"
                log(f"[{size:,}] building {db} ...")
                built = build(db, size, args.keep)
                runs.append(measure_size(pw_browser, size, db, built, args, log))
        finally:
            pw_browser.close()
    info["load average at end (1/5/15 min)"] = uptime()
    before = from_json(args.before.read_text(encoding="utf-8")) if args.before else None
    command = "python -m bench.browser" + ("" if not argv else " " + shlex.join(argv))
    text = markdown(runs, command, args.repeat, args.idle_seconds, info, before)
    if args.json:
        args.json.write_text(to_json(runs), encoding="utf-8")
    results_md.write(args.out, "browser", text)
    log("\n".join(target_lines(runs)))
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
