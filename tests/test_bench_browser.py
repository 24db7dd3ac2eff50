"""The browser benchmark (bench/browser.py): its pure parts, RESULTS.md sections, and one small real run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import browser, harness
from bench import results as results_md
from bench.browser import PageTime, SizeRun

ROOT = Path(__file__).resolve().parent.parent

SQL_PART = "# Benchmark results\n\n| meetings | page | SQL median ms |\n|---:|---|---:|\n| 100,000 | overview | 99.6 |"


# ---- stats and CPU ----------------------------------------------------------------------------------------

def test_median_and_percentiles_interpolate_between_ranks():
    assert browser.median([3.0, 1.0, 2.0]) == 2.0
    assert browser.median([]) is None
    # 1..20: rank (20-1)*0.95 = 18.05 -> 19 + 0.05 * (20 - 19)
    assert browser.percentile([float(i) for i in range(1, 21)], 95) == pytest.approx(19.05)
    assert browser.percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert browser.percentile([], 95) is None
    assert browser.ratio(0.9, 0.3) == pytest.approx(3.0)
    assert browser.ratio(0.9, 0) is None and browser.ratio(None, 1.0) is None


def test_cpu_ticks_are_utime_plus_stime_even_with_spaces_in_the_command_name():
    # fields 14 (utime) = 150 and 15 (stime) = 25; the name "(streamlit run) x" holds spaces and a bracket
    line = "4242 (streamlit run) x) S 1 2 3 4 5 6 7 8 9 10 150 25 7 3 20 0 12 0 9999 123456 789\n"
    assert browser.cpu_ticks(line) == 175


def test_cpu_percent_is_of_one_core():
    assert browser.cpu_percent(300, 60.0, hz=100) == pytest.approx(5.0)  # 3 s of CPU in 60 s
    assert browser.cpu_percent(100, 1.0, hz=100) == pytest.approx(100.0)


def test_the_running_process_ticks_can_be_read():
    import os

    assert browser.read_ticks(os.getpid()) >= 0


# ---- arguments ---------------------------------------------------------------------------------------------

def test_arguments_default_to_the_issue_s_measurements():
    args = browser.parse_args([])
    assert args.sizes == [100_000, 1_000_000]
    assert args.repeat == 5 and args.warmup == 1
    assert args.idle_sessions == [10, 30] and args.together == 20 and args.idle_seconds == 60.0
    assert args.port == browser.DEFAULT_PORT


def test_sessions_shorthand_sets_both_session_counts():
    args = browser.parse_args(["--sizes", "2_000", "--repeat", "1", "--idle-seconds", "2", "--sessions", "3"])
    assert args.sizes == [2000] and args.repeat == 1 and args.idle_seconds == 2.0
    assert args.idle_sessions == [3] and args.together == 3


@pytest.mark.parametrize("bad", [["--sizes", "0"], ["--sizes", "ten"], ["--repeat", "0"], ["--idle-seconds", "-1"],
                                 ["--idle-sessions", "10,x"], ["--port", "70000"], ["--before", "/nonexistent.json"],
                                 ["--warmup", "2"]])
def test_bad_arguments_are_refused(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        browser.parse_args(bad)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


# ---- RESULTS.md sections -----------------------------------------------------------------------------------

def test_browser_section_is_added_beside_an_unmarked_sql_file_and_replaces_only_itself():
    first = results_md.merge(SQL_PART + "\n", "browser", "# Browser\n\nold figures")
    assert results_md.sections(first) == {"sql": SQL_PART, "browser": "# Browser\n\nold figures"}
    second = results_md.merge(first, "browser", "# Browser\n\nnew figures")
    assert results_md.sections(second) == {"sql": SQL_PART, "browser": "# Browser\n\nnew figures"}
    assert second.index("<!-- sql:start -->") < second.index("<!-- browser:start -->")
    assert "old figures" not in second


def test_sql_section_replaces_only_itself():
    text = results_md.merge(results_md.merge("", "sql", "old sql"), "browser", "browser figures")
    again = results_md.merge(text, "sql", "new sql")
    assert results_md.sections(again) == {"sql": "new sql", "browser": "browser figures"}
    with pytest.raises(ValueError):
        results_md.merge(text, "other", "x")


def test_python_m_bench_keeps_the_browser_section(tmp_path, monkeypatch):
    out = tmp_path / "RESULTS.md"
    results_md.write(out, "browser", "# Browser benchmark\n\nbrowser figures 123")
    fake = harness.SizeResult(5, {"cached": True, "seconds": None, "peak_mb": None})
    monkeypatch.setattr(harness, "measure_size", lambda *a, **k: fake)
    harness.run([5], 1, True, out, "2025", tmp_path, naive=False, log=lambda *_: None)
    found = results_md.sections(out.read_text(encoding="utf-8"))
    assert found["browser"] == "# Browser benchmark\n\nbrowser figures 123"
    assert found["sql"].startswith("# Benchmark results")


def test_saved_results_read_back_equal():
    run = SizeRun(100_000, {"cached": True}, bare=[0.3], pages=[PageTime("tong-quan", "Overview", "year", [0.9])],
                  menu={"tong-quan": [0.25, 0.3]},
                  idle={10: 2.5}, refresh_seconds=30, single=[1.0], together=[1.0, 2.0], load={"at start": "1.0"})
    assert browser.from_json(browser.to_json([run])) == [run]


# ---- tables and targets, on worked numbers ----------------------------------------------------------------

def _run() -> SizeRun:
    return SizeRun(100_000, {"cached": False}, bare=[0.2, 0.3, 0.4], bare_server_cpu=[0.01, 0.0, 0.0],
                   bare_browser_cpu=[0.1, 0.2, 0.15],
                   pages=[PageTime("tong-quan", "Overview", "default", [0.6, 0.9, 1.2],   # median 0.9: 3.0×
                                   server_cpu=[0.01, 0.02, 0.06], browser_cpu=[0.3, 0.5, 0.4]),
                          PageTime("tong-quan", "Overview", "year", [1.0]),              # 3.3×
                          PageTime("nhat-ky", "Audit", "default", [0.45, 0.6])],         # median 0.525: 1.75×
                   idle={10: 4.0, 30: 11.0}, single=[1.0], together=[1.0, 2.0, 3.0, 4.0])


def test_page_rows_give_medians_ratios_and_pass_or_miss():
    rows = browser.page_rows(_run())
    # server CPU: the mean (ticks are 10 ms), browser main thread: the median
    assert all(row.count("|") == rows[0].count("|") == 9 for row in rows)
    assert rows[2] == "| bare Streamlit page | – | 300 | 1.0× | 3 | 150 | – | |"
    assert rows[3] == "| Overview (`tong-quan`) | default | 900 | 3.0× | 30 | 400 | ≤3× | pass |"
    assert rows[4] == "| Overview (`tong-quan`) | year | 1,000 | 3.3× | – | – | ≤3× | **miss** |"
    assert rows[5] == "| Audit (`nhat-ky`) | default | 525 | 1.8× | – | – | ≤3× | pass |"


def test_page_rows_show_an_earlier_run_beside():
    before = SizeRun(100_000, {}, bare=[0.5], pages=[PageTime("tong-quan", "Overview", "default", [2.0])])
    rows = browser.page_rows(_run(), before)
    assert rows[0] == ("| page | period | median ms | ratio to bare | server CPU ms | browser main thread ms | target "
                       "| before: median ms | before: ratio | |")
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    assert rows[3] == "| Overview (`tong-quan`) | default | 900 | 3.0× | 30 | 400 | ≤3× | 2,000 | 4.0× | pass |"
    assert rows[5] == "| Audit (`nhat-ky`) | default | 525 | 1.8× | – | – | ≤3× | – | – | pass |"


def test_pages_from_the_menu_are_shown_beside_the_bare_page_s_load():
    run = _run()  # the bare page's median load 0.3 s
    assert browser.menu_rows(run) == []
    run.menu = {"tong-quan": [0.3, 0.45, 0.6], "nhat-ky": [0.15, 0.12]}  # medians 0.45 (1.5×) and 0.135 (0.45×)
    assert browser.menu_rows(run) == ["| page, from the menu | median ms | ratio to the bare page's load |",
                                      "|---|---:|---:|",
                                      "| Overview (`tong-quan`) | 450 | 1.5× |",
                                      "| Audit (`nhat-ky`) | 135 | 0.5× |"]
    text = browser.markdown([run], "python -m bench.browser", 3, 60.0, {})
    assert "| Audit (`nhat-ky`) | 135 | 0.5× |" in text and "**From the menu**" in text
    # the targets are read on the loads, not on the menu
    assert browser.target_lines([run]) == browser.target_lines([_run()])


def test_targets_name_what_passes_and_what_misses():
    lines = browser.target_lines([_run()])
    assert lines[0] == "- Every page ≤3× the bare page at 100,000, default period: **pass** (slowest tong-quan, 3.0×)"
    assert lines[1] == "- Every page ≤3× the bare page at 100,000, year period: **miss** by tong-quan (3.3×)"
    assert lines[2] == "- 10 idle sessions under 5% of a core at 100,000: **pass** (4.0%)"
    # p95 of 1..4 s = 3 + 0.85 = 3.85 s, 3.85× the session alone
    assert lines[3] == ("- 4 sessions together (4 Chromium tabs on the same cores: mostly the browsers), p95 under "
                        "3× one alone at 100,000: **miss** (p95 3,850 ms, alone 1,000 ms, 3.9×)")


def test_the_stock_bare_page_is_shown_and_the_ratio_targets_read_against_it_too():
    run = _run()
    run.stock_bare = [0.35, 0.36, 0.4]  # median 0.36: the overview's 0.9 is 2.5× it, the year's 1.0 is 2.8×
    rows = browser.page_rows(run)
    assert rows[3] == "| bare page, stock Streamlit | – | 360 | 1.2× | – | – | – | |"
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    lines = browser.target_lines([run])
    assert lines[1] == ("- Every page ≤3× the bare page served by stock Streamlit at 100,000, default period: "
                        "**pass** (slowest tong-quan, 2.5×)")
    assert lines[2] == "- Every page ≤3× the bare page at 100,000, year period: **miss** by tong-quan (3.3×)"
    assert lines[3] == ("- Every page ≤3× the bare page served by stock Streamlit at 100,000, year period: "
                        "**pass** (slowest tong-quan, 2.8×)")
    run.stock_bare = [0.3]
    assert "stock Streamlit at 100,000, year period: **miss** by tong-quan (3.3×)" in browser.target_lines([run])[3]


def test_a_person_among_the_others_is_judged_on_the_p95_of_the_tab_s_trials():
    run = SizeRun(100_000, {}, person_n=20, person_alone=[0.4, 0.5, 0.6], person_among=[1.0, 1.2, 1.4, 2.0])
    # p95 of 1.0, 1.2, 1.4, 2.0 = 1.4 + 0.85 × 0.6 = 1.91 s; alone median 0.5 s: 3.82×
    (line,) = browser.target_lines([run])
    assert line == ("- 20 sessions together (a person's tab among 19 light clients: every browser on its own "
                    "computer), p95 under 3× one alone at 100,000: **miss** (p95 1,910 ms over 4 trials, alone "
                    "500 ms, 3.8×)")
    run.person_among = [1.0, 1.1, 1.2, 1.3]  # p95 1.285 s: 2.6×
    assert "**pass** (p95 1,285 ms over 4 trials, alone 500 ms, 2.6×)" in browser.target_lines([run])[0]
    text = browser.markdown([run], "python -m bench.browser", 1, 2.0, {})
    assert ("- A person among 20: one tab opens the overview while 19 light clients open it at the same moment, "
            "4 trials: alone median 500 ms; among them p50 1,150 ms, p95 1,285 ms, slowest 1,300 ms") in text


def test_every_admin_page_is_timed_and_the_dashboards_for_a_year_too():
    from lib import nav

    pages = browser.app_pages()
    assert [p[0] for p in pages] == [s.url_path for s in nav.pages_for("admin")]
    periodic = {p[0] for p in pages if p[2]}
    assert periodic == {"tong-quan", "du-hop", "can-bo-phu-trach", "han-che", "chat-luong", "dang-vien-can-xem-xet",
                        "trinh-chieu"}
    assert {"nhap-tep", "nguoi-dung", "nhat-ky", "trinh-chieu"} <= {p[0] for p in pages}


# ---- one small real run -------------------------------------------------------------------------------------

def test_a_small_real_run_times_every_page_and_keeps_the_sql_section(tmp_path):
    out = tmp_path / "RESULTS.md"
    out.write_text(SQL_PART + "\n", encoding="utf-8")
    raw = tmp_path / "raw.json"
    # In its own process: the browser tests' Playwright (a session fixture) may still be running in this one, and
    # Playwright's sync API refuses to start a second time inside its event loop.
    run = subprocess.run([sys.executable, "-m", "bench.browser", "--sizes", "2000", "--repeat", "1", "--warmup", "0",
                          "--idle-seconds", "2", "--sessions", "2", "--person-trials", "2", "--db-dir",
                          str(tmp_path), "--out", str(out),
                          "--json", str(raw), "--port", "0"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found = results_md.sections(out.read_text(encoding="utf-8"))
    assert found["sql"] == SQL_PART
    text = found["browser"]
    number = r"[\d,]+"
    assert re.search(rf"^\| bare Streamlit page \| – \| {number} \| 1\.0× \|", text, re.M)
    assert re.search(rf"^\| bare page, stock Streamlit \| – \| {number} \| [\d.]+× \|", text, re.M)
    assert "served by stock Streamlit at 2,000" not in text  # no ratio target at that size
    for path, _title, periodic in browser.app_pages():
        for period in ("default", "year") if periodic else ("default",):
            assert re.search(rf"\(`{re.escape(path)}`\) \| {period} \| {number} \| [\d.]+× \| [\d.,]+ \| {number} \|",
                             text), (path, period)
    assert re.search(r"2 sessions [\d.]+% of a core", text)
    assert re.search(rf"2 together: p50 {number} ms, p95 {number} ms", text)
    assert "CHIBO_BENCH_PASSWORD" in text
    assert re.search(rf"A person among 2: .* 2 trials: alone median {number} ms; among them p50 {number} ms", text)
    assert re.search(r"2 sessions together \(a person's tab among 1 light clients", text)
    run = browser.from_json(raw.read_text(encoding="utf-8"))[0]
    # every page once more from the menu (Browser.menu checks that the click led to the page), one round
    paths = [path for path, _title, _periodic in browser.app_pages()]  # app_pages reads every page's source
    assert list(run.menu) == paths
    assert all(len(times) == 1 and times[0] > 0 for times in run.menu.values())
    for path in paths:
        assert re.search(rf"^\| .* \(`{re.escape(path)}`\) \| {number} \| [\d.]+× \|$", text, re.M), path
    assert run.size == 2000 and len(run.together) == 2 and set(run.idle) == {2}
    assert run.person_n == 2 and len(run.person_alone) == len(run.person_among) == 2
    assert all(x > 0 for x in run.person_alone + run.person_among)
    assert Path(tmp_path / "browser-2000.db").is_file()


# ---- the app shell's cost (issue 13, item 4) ----------------------------------------------------------------

@pytest.fixture
def shell_db(db_path):
    from tests.factories import small_directory
    from tests.helpers import make_user

    ids = small_directory(db_path)
    make_user(db_path, "admin1", "admin")
    make_user(db_path, "clerk1", "clerk", [ids["u1"]])
    return db_path


def counting(monkeypatch, module, name: str) -> list:
    """Record each call of module.name (still calling it)."""
    real = getattr(module, name)
    calls: list = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_a_signed_in_run_checks_the_database_file_once_and_does_not_count_users(shell_db, monkeypatch):
    from lib import health, users
    from tests.helpers import app_test, login

    at = login(app_test(shell_db), "admin1", "Matkhau123")
    at.switch_page("pages/account.py").run()
    checks = counting(monkeypatch, health, "problem")
    counts = counting(monkeypatch, users, "count_users")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Tài khoản"
    assert len(checks) == 1  # ui.database_problem; auth.needs_setup used to check the file a second time
    assert counts == []  # a signed-in user proves the users table is not empty


def test_a_signed_out_run_still_finds_the_first_run_and_the_login(db_path, monkeypatch):
    from lib import health
    from tests.helpers import app_test

    checks = counting(monkeypatch, health, "problem")
    at = app_test(db_path).run()  # no users yet: the setup form
    assert any(w.key for w in at.text_input if w.key and w.key.startswith("setup_"))
    assert len(checks) == 1
    from tests.helpers import make_user

    make_user(db_path, "admin1", "admin")
    at = app_test(db_path).run()  # a user now: the login form
    assert any(w.key == "login_username" for w in at.text_input)


def test_an_import_keeps_the_figures_other_sessions_share(shell_db, tmp_path, monkeypatch):
    from lib import db as dbm
    from lib import ui
    from tests.helpers import app_test, login

    other = tmp_path / "other.db"
    dbm.init(other)
    made: list = []

    def figure(db):
        made.append(1)
        return db.execute("select count(*) from meetings").fetchone()[0]

    def shared(path):
        return ui._cached(path=str(path), version=0, fn_name="tests.figure", key=ui.args_key((), {}), _fn=figure,
                          _args=(), _kwargs={})

    assert shared(other) == 0 and len(made) == 1  # another database's figure, cached
    at = login(app_test(shell_db), "clerk1", "Matkhau123")
    at.switch_page("pages/import_data.py").run()
    at.selectbox(key="imp_kind").set_value("meetings").run()
    header = ("cell_code,held_on,mtype,members_total,members_exempt,present,absent_excused,absent_unexcused,"
              "duration_minutes,score,notes\n")
    at.file_uploader[0].set_value(("m.csv", (header + "NL-CD,15/01/2025,thuong_ky,30,2,25,2,1,120,95,\n").encode(),
                                   "text/csv"))
    at.run()
    at.button(key="imp_run").click().run()
    assert not at.exception
    assert any("1" in s.value for s in at.success)
    with dbm.read(shell_db) as db:
        assert db.execute("select count(*) from meetings").fetchone()[0] == 1
    assert shared(other) == 0 and len(made) == 1  # still cached: the import cleared nothing it did not change
