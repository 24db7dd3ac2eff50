"""What lib.ui.deep_links_direct saves a page opened by its own address, measured paired.

`python -m bench.deep_links --db FILE [--pages tai-khoan,tong-quan] [--pairs 21]` serves the app twice on one
database, as `python -m lib serve` does and the same without the index's base hint, signs in on each, and loads
each page alternately on the two (the order switched every pair), timed as bench.browser times a page: from the
navigation until the app is idle. Prints each page's medians and the median of the paired differences with its
quartiles; on a shared machine the paired difference is the figure to read.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import browser as bb

ROOT = Path(__file__).resolve().parent.parent
# the app as `python -m lib serve` starts it, bar the hint
WITHOUT_HINT = ("import sys; from lib import ui; ui.deep_links_direct = lambda paths: None; "
                "sys.exit(ui.serve(sys.argv[1:]))")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.deep_links", description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, required=True, help="a database built by `python -m lib demo`")
    p.add_argument("--pages", default="tai-khoan,tong-quan,chat-luong,nhap-tep", help="comma-separated page paths")
    p.add_argument("--pairs", type=bb._positive, default=21, help="paired loads of each page (default 21)")
    return p.parse_args(argv)


def start_without_hint(db: Path, log: Path):
    """The app served like `python -m lib serve` but with Streamlit's own index.html."""
    from tests.e2e.server import App, free_port, healthy

    port = free_port()
    env = {**os.environ, "CHIBO_DB": str(db), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", WITHOUT_HINT, "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", db, proc, log)
    deadline = time.monotonic() + 60
    while not healthy(app.url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(log.read_text(errors="replace"))
        time.sleep(0.2)
    return app


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app

    args = parse_args(argv)
    password = bb.admin_password()
    bb.ensure_admin(args.db, password)
    logs = args.db.parent
    hinted = start_app(args.db, logs / "deep-links-hint.log", testing=False)
    plain = None
    try:
        plain = start_without_hint(args.db, logs / "deep-links-plain.log")
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tabs = {}
            for name, app in (("hint", hinted), ("plain", plain)):
                browser = bb.Browser(chromium, bb.login_state(chromium, app.url, password))
                tab = browser.page()
                tab.goto("about:blank")
                tabs[name] = (browser, tab, app)
            print(f"{'page':24} {'with hint':>10} {'without':>10} {'paired diff (q1-q3)':>24}")
            for page in args.pages.split(","):
                times = {"hint": [], "plain": []}
                for i in range(args.pairs + 2):
                    for name in (("hint", "plain") if i % 2 else ("plain", "hint")):
                        browser, tab, app = tabs[name]
                        took = browser.load(tab, app.at(page))
                        if i >= 2:  # two pairs to warm up
                            times[name].append(took)
                diff = [b - a for a, b in zip(times["hint"], times["plain"], strict=True)]
                q1, _, q3 = statistics.quantiles(diff, n=4)
                print(f"{page:24} {statistics.median(times['hint']) * 1000:8.0f} ms "
                      f"{statistics.median(times['plain']) * 1000:7.0f} ms "
                      f"{statistics.median(diff) * 1000:8.0f} ms ({q1 * 1000:.0f} to {q3 * 1000:.0f})")
            for browser, _, _ in tabs.values():
                browser.close()
            chromium.close()
    finally:
        stop_app(hinted)
        if plain is not None:
            stop_app(plain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
