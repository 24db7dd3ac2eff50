"""What a dashboard draws at first load (issue 13): one tab's chart or table at a time, the others drawn when
picked, the to-do not drawn while folded; nothing is lost (every tab still there, its figures the same)."""

from datetime import date

import pytest

from lib import db as dbm
from lib import demo, metrics, ui
from lib.i18n import t
from tests.helpers import page_test

DEMO_TODAY = date(2026, 6, 30)
YEAR = "2026"
CELLS_ONLY = "TANAN25"  # a commune of the demo with only cells under it


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """The Càng Long demo at 600 meetings up to DEMO_TODAY (fixed seed), with its demo accounts."""
    path = tmp_path_factory.mktemp("drawing") / "demo.db"
    demo.load(path, meetings=600, seed=11, today=DEMO_TODAY)
    return path


def run_page(path, monkeypatch, page: str, period: str = YEAR, node: str | None = None):
    """page run on its own as the demo admin, the period (and the node in view) in the URL; returns the AppTest."""
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = page_test(page, "admin")
    at.query_params["ky"] = period
    if node:
        at.query_params[ui.DASH_URL["node"]] = node
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pick_tab(at, key: str, label: str):
    """The tab named label picked in the tabs under key (as a click does: the page runs again)."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_keys(at) -> list[str]:
    # every chart has its PNG button keyed <chart key>_png
    return [b.key.removesuffix("_png") for b in at.get("download_button") if b.key.endswith("_png")]


def table_keys(at) -> list[str]:
    # every table has its CSV button keyed <table key>_csv
    return [b.key.removesuffix("_csv") for b in at.get("download_button") if b.key.endswith("_csv")]


def tab_labels(at) -> list[str]:
    return [tab.label for tab in at.tabs]


def test_overview_draws_one_attention_list_and_no_folded_to_do(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/overview.py")
    with dbm.read(small_demo) as db:
        figures = metrics.overview_page(db, metrics.parse_period(YEAR), metrics.Filters(), today=date.today())
    missed, below = figures["cells_missing_last_month"], figures["leaders_below_assignment"]
    overdue = [w for w in figures["open_weaknesses"] if w["overdue"]]
    assert missed and below and overdue
    # the three lists keep their tabs and counts; only the first is drawn; the to-do is folded for an admin
    names = [t("dash.att_missed", n=len(missed)), t("dash.att_leaders", n=len(below)),
             t("dash.att_overdue", n=len(overdue))]
    assert tab_labels(at) == names
    assert table_keys(at) == ["ov_missed"]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == min(len(missed), ui.TABLE_ROWS)
    assert chart_keys(at) == ["ov_months"]
    # the third tab picked: its list, every overdue weakness, and nothing else
    pick_tab(at, "ov_attention", names[2])
    assert table_keys(at) == ["ov_overdue"]
    assert len(at.dataframe[0].value) == len(overdue)


def test_the_to_do_is_drawn_when_opened_one_tab_at_a_time(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/overview.py")
    (box,) = at.expander
    assert not any(k.startswith("todo_") for k in table_keys(at))
    at.session_state["todo_box"] = True
    at.run()
    assert not at.exception
    assert at.expander[0].label == box.label
    todo = metrics.todo(small_demo, "admin", today=date.today())
    assert tab_labels(at)[:2] == [t("ux.todo.missing", n=len(todo["missing"])),
                                  t("ux.todo.upcoming", n=len(todo["upcoming"]))]
    assert [k for k in table_keys(at) if k.startswith("todo_")] == ["todo_missing"]
    pick_tab(at, "todo_tabs", tab_labels(at)[1])
    assert [k for k in table_keys(at) if k.startswith("todo_")] == ["todo_upcoming"]


def test_attendance_draws_one_chart_of_four(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/attendance.py")
    names = [t("speed.tab_ranked"), t("speed.tab_by_month"), t("speed.tab_trend"), t("speed.tab_absences")]
    assert tab_labels(at) == names
    assert len(at.get("vega_lite_chart")) == 1 and chart_keys(at) == ["att_ranked"]
    for name, key in zip(names[1:], ("att_heatmap", "att_trend", "att_absences"), strict=True):
        pick_tab(at, "att_charts", name)
        assert chart_keys(at) == [key]
    # a month has no heatmap nor trend: two tabs
    at = run_page(small_demo, monkeypatch, "pages/attendance.py", period="2026-05")
    assert tab_labels(at) == [names[0], names[3]] and chart_keys(at) == ["att_ranked"]


def test_weakness_board_draws_one_of_its_three_charts_and_two_of_its_four_tables(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    every = metrics.open_weaknesses(small_demo, today=date.today())
    overdue = [w for w in every if w["overdue"]]
    assert overdue
    charts = [t("speed.tab_weak_matrix"), t("speed.tab_by_month"), t("speed.tab_weak_ageing")]
    assert tab_labels(at) == [*charts, t("dash.by_unit"), t("dash.by_category"), t("dash.overdue", n=len(overdue)),
                              t("dash.open_list", n=len(every))]
    assert table_keys(at) == ["weak_matrix_table", "weak_overdue"]
    assert len(at.dataframe[-1].value) == min(len(overdue), ui.TABLE_ROWS)
    # the charts one at a time: the matrix first, the trend and the ageing when picked
    assert len(at.get("vega_lite_chart")) == 1 and chart_keys(at) == ["weak_matrix"]
    for name, key in zip(charts[1:], ("weak_trend", "weak_ageing"), strict=True):
        pick_tab(at, "weak_charts", name)
        assert len(at.get("vega_lite_chart")) == 1 and chart_keys(at) == [key]
    pick_tab(at, "weak_lists", t("dash.open_list", n=len(every)))
    assert table_keys(at) == ["weak_matrix_table", "weak_open"]
    pick_tab(at, "weak_tables", t("dash.by_category"))
    assert table_keys(at) == ["weak_categories", "weak_open"]
    # a commune whose rows are its cells: the matrix tab says so
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py", node=CELLS_ONLY)
    assert tab_labels(at)[0] == t("speed.tab_weak_cells") and chart_keys(at) == ["weak_matrix"]


def test_quality_and_leaders_draw_one_tab_of_charts(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/quality.py")
    with dbm.read(small_demo) as db:
        short = metrics.short_meetings(db, YEAR, today=date.today())
        assert metrics.checklist_ratings(db, YEAR, today=date.today())["meetings"] == 0  # (test_checklist_form)
    # the lists under the table by unit, one at a time: the short meetings, and (the period being a year) the
    # year's classification of cells (lib/classification.py)
    lists = [t("dash.short_list", minutes=short["min_duration"], n=ui.fmt_num(short["short"])),
             t("class.dist.title", year=2026)]
    assert tab_labels(at) == [t("chart.rating"), t("speed.tab_properties"), t("chart.duration"), *lists]
    assert chart_keys(at) == ["q_ratings"]
    assert table_keys(at) == ["q_units", "q_short"]
    pick_tab(at, "q_charts", t("chart.duration"))
    assert chart_keys(at) == ["q_durations"]
    pick_tab(at, "q_lists", lists[1])
    assert table_keys(at) == ["q_units", "q_classes"]
    # a quarter of a year with nothing classified: no classification tab
    at = run_page(small_demo, monkeypatch, "pages/quality.py", period="2026-Q1")
    quarter = metrics.short_meetings(small_demo, "2026-Q1", today=date.today())
    assert tab_labels(at)[3:] == [t("dash.short_list", minutes=quarter["min_duration"], n=ui.fmt_num(quarter["short"]))]

    at = run_page(small_demo, monkeypatch, "pages/leaders.py")
    assert tab_labels(at) == [t("dash.by_group"), t("dash.by_leader"), t("dash.by_leader"), t("dash.by_group")]
    assert chart_keys(at) == ["lead_groups", "lead_reports"]
    assert table_keys(at) == ["lead_nobody", "lead_table"]
    pick_tab(at, "lead_charts", t("dash.by_leader"))
    pick_tab(at, "lead_tables", t("dash.by_group"))
    assert chart_keys(at) == ["lead_chart"]
    assert table_keys(at) == ["lead_nobody", "lead_group_table"]


def test_the_bench_says_what_the_cores_did_while_sessions_opened_together():
    from bench.browser import SizeRun, from_json, markdown, to_json

    run = SizeRun(100_000, {}, bare=[0.3], single=[1.0], together=[1.0, 2.0], together_served=[0.5, 0.9],
                  together_server_cpu=0.46, together_browser_cpu=2.1)
    text = markdown([run], "python -m bench.browser", 1, 30.0, {}, None)
    assert "meanwhile the server used 460 ms of CPU and the 2 tabs' main-thread tasks took 2,100 ms" in text
    (again,) = from_json(to_json([run]))
    assert again.together_server_cpu == 0.46 and again.together_browser_cpu == 2.1
