"""Shared helpers for AppTest page tests (start the app, log in, create users), and for the tests that compare
this code's outputs with an earlier commit's (test_docx13, test_report_speed)."""

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib import db as dbm
from lib import demo, users
from lib.domain import SYSTEM

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 60


def app_test(db_path: Path) -> AppTest:
    """An AppTest of app.py (not yet run) against db_path (CHIBO_DB is set by the db_path fixture)."""
    import os

    os.environ["CHIBO_DB"] = str(db_path)
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def login(at: AppTest, username: str, password: str) -> AppTest:
    """Run the app if needed, fill and submit the login form; returns the rerun AppTest."""
    if not any(w.key == "login_username" for w in at.text_input):
        at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click()
    return at.run()


def make_user(db_path: Path, username: str, role: str, unit_ids=(), password: str = "Matkhau123") -> None:
    """Create an active user directly through lib.users.create_user as SYSTEM."""
    with dbm.write(db_path) as db:
        users.create_user(db, SYSTEM, username, username.title(), password, role, list(unit_ids))


def fast_hashing(monkeypatch) -> None:
    """Make bcrypt use its lowest cost in a test (hashes stay real bcrypt, just quicker)."""
    import bcrypt

    gensalt = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": gensalt(4, prefix))


def _relative(script_path: str) -> str:
    return Path(script_path).resolve().relative_to(APP.parent).as_posix()


def nav_files(at: AppTest) -> set[str]:
    """The page files (e.g. "pages/users.py") in the navigation of the last run."""
    # pages/forbidden.py only answers (hidden) at the addresses of pages outside the role.
    files = {_relative(info["script_path"]) for info in at._registered_pages.values() if info.get("script_path")}
    # the language switch and logout are menu entries of every signed-in menu (ui.shell_pages), not pages of a role
    return files - {"pages/forbidden.py", "pages/language.py", "pages/logout.py"}


def log_out(at: AppTest) -> AppTest:
    """Click the menu's logout entry (ui.shell_pages) and run."""
    return at.switch_page("pages/logout.py").run()


def switch_language(at: AppTest) -> AppTest:
    """Click the menu's language entry (ui.shell_pages) and run."""
    return at.switch_page("pages/language.py").run()


def current_page(at: AppTest) -> str | None:
    """The page file the last run showed."""
    info = at._registered_pages.get(at._finished_page_script_hash)
    return _relative(info["script_path"]) if info and info.get("script_path") else None


def page_test(page: str, username: str) -> AppTest:
    """An AppTest of one page file run on its own, with the session logged in as username (not yet run)."""
    at = AppTest.from_file(str(APP.parent / page), default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    return at


# ---- an earlier commit's code beside this one's, on the same databases ---------------------------------------------

REPO = APP.parent


def code_of(commit: str, folder: Path) -> Path:
    """lib/ and db/ as they were at commit, taken with git archive into folder (made by the caller): folder."""
    assert shutil.which("git") is not None, "git is needed to take main's code (the set-up installs it)"
    archive = subprocess.run(["git", "archive", commit, "lib", "db"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def demo_3000(path: Path, today: date) -> Path:
    """The Càng Long demo at 3,000 meetings (seed 11) up to today, renamed and merged communes and appendices
    included: the database both codes' outputs are taken from."""
    demo.load(path, meetings=3000, seed=11, today=today)
    return path


def run_with_code(code_dir: Path, script: str, *args) -> dict:
    """A script run with the code of code_dir (PYTHONHASHSEED fixed: openpyxl numbers its styles in the order of a
    set of strings); the JSON of its last line. A failed run fails the test with its error's end."""
    env = {**os.environ, "PYTHONPATH": str(code_dir), "CHIBO_TESTING": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=str(code_dir), env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
