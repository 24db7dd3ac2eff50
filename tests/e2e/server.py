"""A Streamlit server on a local port and Debian's chromium for Playwright: shared by the browser tests and bench."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# --disable-dev-shm-usage: CI containers often have a tiny /dev/shm, where chromium's tabs crash.
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
START_TIMEOUT = 60  # seconds for Streamlit to answer /_stcore/health


@dataclass
class App:
    """A running Streamlit server: its base URL, database file, process and log."""

    url: str
    db: Path
    proc: subprocess.Popen
    log: Path
    state: dict = field(default_factory=dict)

    def at(self, path: str = "") -> str:
        """The full URL of a page path such as "tong-quan" or "tong-quan?ky=2025"."""
        return f"{self.url}/{path.lstrip('/')}"


class StartError(RuntimeError):
    """Streamlit did not answer its health check in time (the message holds its log)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at url answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start_app(db: Path, log: Path, script: str = "app.py", port: int | None = None, testing: bool = True,
              stock: bool = False) -> App:
    """Start SCRIPT (app.py by `python -m lib serve`, another by `python -m bench.bare_serve`, or with stock by
    Streamlit's own `streamlit run`) on 127.0.0.1 against db; wait."""
    port = port or free_port()
    env = {**os.environ, "CHIBO_DB": str(db), "PYTHONUNBUFFERED": "1"}
    if testing:
        env["CHIBO_TESTING"] = "1"
    # The app starts as it does in production (`python -m lib serve`, see lib.ui.serve); another script (the
    # benchmark's bare page) with `streamlit run` under the same server settings (bench/bare_serve.py).
    launch = [sys.executable, "-m", "lib", "serve"] if script == "app.py" else \
        [str(Path(sys.executable).parent / "streamlit"), "run", script] if stock else \
        [sys.executable, "-m", "bench.bare_serve", script]
    cmd = [*launch, "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", db, proc, log)
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(app.url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_app(app)
            raise StartError(f"streamlit did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)  # polling a server that is starting, not waiting on the page
    return app


def stop_app(app: App) -> None:
    """Stop the server started by start_app."""
    if app.proc.poll() is None:
        app.proc.terminate()
        try:
            app.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.proc.kill()
            app.proc.wait()
