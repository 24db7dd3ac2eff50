"""Dashboards through AppTest from app.py: every role on demo data and on an empty database, the shared
filters (each one changes the figures, all kept in the URL), and figures equal to lib.metrics / `metrics --json`."""

import json
import subprocess
import sys
import time
from datetime import date

import pandas as pd
import pytest

from lib import db as dbm
from lib import demo, directory, meetings, metrics, ui
from lib.domain import SYSTEM, LeaderGroup, WeaknessCategory
from lib.i18n import t
from lib.metrics import Filters
from tests.helpers import APP, app_test, current_page, fast_hashing, login, make_user

DASHBOARDS = {"pages/overview.py": "nav.overview", "pages/attendance.py": "nav.attendance",
              "pages/leaders.py": "nav.leaders", "pages/weakness_board.py": "nav.weakness_board",
              "pages/quality.py": "nav.quality", "pages/presentation.py": "nav.presentation"}
PASSWORDS = {"admin": "demo-quantri-2025", "thuky": "demo-nhaplieu-2025", "xem": "demo-theodoi-2025"}
# The demo is built as of DEMO_TODAY so that the years the tests look at hold data whenever they run:
# 2025 whole (with the 1/7/2025 merger inside it) and 2026 up to June.
DEMO_TODAY = date(2026, 6, 30)
LAST_YEAR = "2025"
UNIT_KEYS = ("unit_code", "unit_name", "meetings", "required", "present", "absent_excused", "absent_unexcused",
             "rate", "cell_months", "held", "coverage", "on_schedule_rate")


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    """The Càng Long demo scaled to 4,000 meetings (about two years up to DEMO_TODAY, fixed seed), with its
    three demo accounts."""
    path = tmp_path_factory.mktemp("dash") / "demo.db"
    demo.load(path, meetings=4000, seed=7, today=DEMO_TODAY)
    return path


def start(path, monkeypatch, user: str = "admin", password: str | None = None, **params: str):
    """Log in to app.py on path with the URL holding params; returns the AppTest on the overview."""
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = app_test(path)
    for name, value in params.items():
        at.query_params[name] = value
    login(at, user, password or PASSWORDS[user])
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(at, page: str):
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert current_page(at) == page
    return at


def records(df: pd.DataFrame) -> list[dict]:
    """A shown table as plain rows (missing values as None)."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def shown_table(at, *headers: str) -> pd.DataFrame:
    """The first table on the page whose columns include all the given headers."""
    for frame in at.dataframe:
        if set(headers) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with {headers}: {[list(f.value.columns) for f in at.dataframe]}")


def unit_table(at) -> list[dict]:
    """The attendance page's table by unit, with the metrics' field names."""
    # short headers, the full names in their tooltips (all twelve columns fit at 1440 px)
    labels = {"unit_code": t("field.unit_code"), "unit_name": t("chart.unit"), "meetings": t("ux.q.meetings"),
              "required": t("chart.required"), "present": t("chart.present"),
              "absent_excused": t("chart.absent_excused"), "absent_unexcused": t("chart.absent_unexcused"),
              "rate": t("ux.a.rate"), "cell_months": t("dash.cell_months"), "held": t("ux.a.held"),
              "coverage": t("ux.a.coverage"), "on_schedule_rate": t("ux.a.on_schedule_rate")}
    df = shown_table(at, labels["coverage"], labels["on_schedule_rate"], labels["unit_code"])
    return records(df.rename(columns={v: k for k, v in labels.items()}))


def figures(path, fn: str, *args, **kwargs):
    """The figures as the pages show them: same-named units (the demo's two "Xã An Trường") by their validity."""
    with dbm.read(path) as db:
        return directory.relabel(getattr(metrics, fn)(db, *args, **kwargs), *directory.renamed(db, "vi"))


def charts_on(at) -> list:
    return at.get("vega_lite_chart")


def downloads_on(at) -> list[str]:
    return [b.key for b in at.get("download_button")]


# ---- every dashboard, every role ---------------------------------------------------------

@pytest.mark.parametrize("user", ["admin", "thuky", "xem"])
def test_every_dashboard_renders_for_each_role(demo_path, monkeypatch, user):
    at = start(demo_path, monkeypatch, user, ky=LAST_YEAR)
    for page, title in DASHBOARDS.items():
        open_page(at, page)
        assert t("ui.no_data") not in [i.value for i in at.info], page
        if page == "pages/presentation.py":
            assert at.header[0].value == t("nav.overview")
            assert len(at.metric) == 8
        else:
            assert at.title[0].value == t(title)
            assert at.caption[0].value.startswith(t("dash.updated_at", time="")[:8])
            assert charts_on(at) or page == "pages/overview.py", page
            assert at.dataframe, page


def test_overview_headline_figures_equal_metrics(demo_path, monkeypatch):
    at = start(demo_path, monkeypatch, ky=LAST_YEAR)
    ov = figures(demo_path, "overview", LAST_YEAR)
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    for key, kind, _ in ui.HEADLINES:
        value, change = ov["current"][key], ov["change"][key]
        if kind == "pct":
            expected = (ui.fmt_pct(value), ui.fmt_points(change))
        else:
            expected = (ui.fmt_num(value), None if change is None else f"{change:+,.0f}")
        assert shown[t(f"dash.h_{key}")] == expected, key
    assert ov["current"]["meetings"] > 100


def test_dashboards_on_an_empty_database(db_path, monkeypatch):
    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", "admin")
    at = start(db_path, monkeypatch, "quantri", "Matkhau123")
    for page in DASHBOARDS:
        open_page(at, page)
        assert t("ui.no_data") in [i.value for i in at.info], page
        assert not at.dataframe and not charts_on(at), page


def test_a_period_without_meetings_says_so(demo_path, monkeypatch):
    at = start(demo_path, monkeypatch, ky="2015")
    for page in DASHBOARDS:
        open_page(at, page)
        if page != "pages/weakness_board.py":  # weaknesses still open today are shown whatever the period
            assert t("ui.no_data") in [i.value for i in at.info], page


# ---- the figures shown are those of lib.metrics and the CLI ------------------------------

def test_attendance_table_equals_metrics_json(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/attendance.py")
    expected = figures(demo_path, "compute", LAST_YEAR)["attendance_by_unit"]
    assert unit_table(at) == expected
    # the province's rows: the district (its history until 30/6/2025) and the five merged communes
    assert [r["unit_code"] for r in expected] == ["ANTRUONG25", "BINHPHU25", "CANGLONG25", "HUYEN", "NHILONG25",
                                                  "TANAN25"] and sum(r["meetings"] for r in expected) > 300


def test_one_commune_equals_the_cli_json(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=f"{LAST_YEAR}-Q2", don_vi="NHILONG"), "pages/attendance.py")
    out = subprocess.run([sys.executable, "-m", "lib", "--db", str(demo_path), "metrics", "--period",
                          f"{LAST_YEAR}-Q2", "--unit", "NHILONG", "--json"], capture_output=True, text=True,
                         cwd=APP.parent, check=True)
    cli = json.loads(out.stdout)
    # The demo is a tree (province → district → Nhị Long): the page's unit filter narrows the province's rows to
    # Nhị Long's subtree, so its one row is the district's, holding exactly Nhị Long's figures; the CLI's --unit
    # puts Nhị Long itself in view. The figures agree; only the row's label differs.
    labels = ("unit_code", "unit_name")
    assert [{k: v for k, v in r.items() if k not in labels} for r in unit_table(at)] == \
        [{k: v for k, v in r.items() if k not in labels} for r in cli["attendance_by_unit"]]
    assert [r["unit_code"] for r in cli["attendance_by_unit"]] == ["NHILONG"]
    open_page(at, "pages/leaders.py")
    df = shown_table(at, t("field.leader_code"), t("dash.assignments"))
    shown = [{"leader_code": r[t("field.leader_code")], "full_name": r[t("field.full_name")],
              "grp": r[t("field.grp")], "expected": r[t("chart.expected")], "attended": r[t("chart.attended")],
              "compliance": r[t("chart.compliance")], "reports": r[t("dash.reports")],
              "late_reports": r[t("chart.reports_late")]} for r in records(df)]
    assert shown == [{**r, "grp": LeaderGroup(r["grp"]).label} for r in cli["leader_participation"]]
    assert shown, "NHILONG has leaders assigned in the demo"


def test_leader_table_equals_metrics_json(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/leaders.py")
    df = shown_table(at, t("field.leader_code"), t("dash.assignments"))
    expected = figures(demo_path, "compute", LAST_YEAR)["leader_participation"]
    assert list(df[t("field.leader_code")]) == [r["leader_code"] for r in expected]
    assert list(df[t("chart.expected")]) == [r["expected"] for r in expected]
    assert list(df[t("chart.attended")]) == [r["attended"] for r in expected]
    assert list(df[t("chart.compliance")]) == [r["compliance"] for r in expected]
    assert list(df[t("chart.reports_late")]) == [r["late_reports"] for r in expected]
    totals = figures(demo_path, "leader_totals", LAST_YEAR)
    assert at.metric[0].value == ui.fmt_pct(totals["compliance"])


def test_weakness_figures_equal_metrics_json(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/weakness_board.py")
    weak = figures(demo_path, "compute", LAST_YEAR)["weaknesses"]
    shown = {m.label: m.value for m in at.metric}
    assert shown[t("dash.w_noted")] == ui.fmt_num(sum(weak["by_status"].values()))
    assert shown[t("dash.w_resolved")] == ui.fmt_num(weak["by_status"]["resolved"])
    assert shown[t("dash.h_weaknesses_open")] == ui.fmt_num(weak["open_now"])
    assert shown[t("dash.h_weaknesses_overdue")] == ui.fmt_num(weak["overdue"])
    # the table by category is drawn in its tab, picked (tests/test_page_drawing.py)
    at.session_state["weak_tables"] = t("dash.by_category")
    at.run()
    df = shown_table(at, t("field.category"), t("chart.count"))
    assert records(df) == [{t("field.category"): WeaknessCategory(c).label, t("chart.count"): n}
                           for c, n in weak["by_category"].items()]
    # the five categories of the seed come first
    assert list(df[t("field.category")])[:5] == [c.label for c in list(WeaknessCategory)[:5]]


# ---- filters -----------------------------------------------------------------------------

def test_each_filter_changes_the_figures(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky="2026"), "pages/attendance.py")
    seen = [unit_table(at)]
    assert seen[-1] == figures(demo_path, "attendance_by_unit", "2026")

    steps = [
        (lambda: at.selectbox(key="dash_year").select(2025), "2025", Filters()),
        (lambda: at.segmented_control(key="dash_kind").set_value("month").run().selectbox(key="dash_month").select(1),
         "2025-01", Filters()),
        (lambda: at.segmented_control(key="dash_kind").set_value("quarter").run().selectbox(key="dash_quarter")
         .select(1), "2025-Q1", Filters()),
        (lambda: at.multiselect(key="dash_units").select("DAIPHUOC").select("NHILONG"), "2025-Q1",
         Filters(unit_codes=("DAIPHUOC", "NHILONG"))),
        (lambda: at.multiselect(key="dash_units").unselect("DAIPHUOC").unselect("NHILONG"), "2025-Q1", Filters()),
        (lambda: at.multiselect(key="dash_cell_types").select("co_quan"), "2025-Q1", Filters(cell_types=("co_quan",))),
        (lambda: at.multiselect(key="dash_mtypes").select("chuyen_de"), "2025-Q1",
         Filters(cell_types=("co_quan",), mtypes=("chuyen_de",))),
        (lambda: at.multiselect(key="dash_cell_types").unselect("co_quan"), "2025-Q1", Filters(mtypes=("chuyen_de",))),
    ]
    for action, label, filters in steps:
        action().run()
        assert not at.exception
        shown = unit_table(at)
        assert shown == figures(demo_path, "attendance_by_unit", label, filters), (label, filters)
        assert shown != seen[-1], (label, filters)
        seen.append(shown)


def test_rollup_merges_former_communes_into_their_successors(demo_path, monkeypatch):
    # the 1/7/2025 merger: the demo's old communes carry on under three new ones
    at = open_page(start(demo_path, monkeypatch, ky="2025"), "pages/attendance.py")
    apart = unit_table(at)
    at.toggle(key="dash_rollup").set_value(True).run()
    merged = unit_table(at)
    assert merged == figures(demo_path, "attendance_by_unit", "2025", Filters(rollup=True))
    assert len(merged) < len(apart)
    assert sum(r["present"] for r in merged) == sum(r["present"] for r in apart)
    assert at.query_params["gop"] == ["1"] or at.query_params["gop"] == "1"


def test_filters_are_kept_in_the_url_and_restored_from_it(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch), "pages/quality.py")
    # this year: the account may have kept another period from an earlier test (its last period is stored)
    at.selectbox(key="dash_year").select(date.today().year).run()
    at.segmented_control(key="dash_kind").set_value("month").run()
    at.selectbox(key="dash_month").select(3).run()
    at.multiselect(key="dash_units").select("NHILONG").run()
    at.multiselect(key="dash_mtypes").select("thuong_ky").run()
    params = {k: at.query_params[k] for k in at.query_params}
    year = date.today().year
    assert {k: (v[0] if isinstance(v, list) else v) for k, v in params.items()} == {
        "ky": f"{year}-03", "don_vi": "NHILONG", "loai_sh": "thuong_ky"}
    # another page keeps them
    open_page(at, "pages/leaders.py")
    assert at.selectbox(key="dash_month").value == 3
    assert at.multiselect(key="dash_units").value == ["NHILONG"]
    # a bookmarked link opens on the same view, for another user
    other = start(demo_path, monkeypatch, "xem", ky=f"{year}-03", don_vi="NHILONG", loai_sh="thuong_ky")
    assert other.segmented_control(key="dash_kind").value == "month"
    assert other.selectbox(key="dash_year").value == year
    assert other.selectbox(key="dash_month").value == 3
    assert other.multiselect(key="dash_units").value == ["NHILONG"]
    assert other.multiselect(key="dash_mtypes").value == ["thuong_ky"]


def test_a_bad_link_falls_back_to_sensible_filters(demo_path, monkeypatch):
    with dbm.write(demo_path) as db:
        db.execute("delete from user_prefs")  # no period kept from an earlier test: the default quarter
    at = start(demo_path, monkeypatch, ky="2025-Q9", don_vi="KHONGCO", loai_chi_bo="xyz")
    assert at.multiselect(key="dash_units").value == []
    assert at.multiselect(key="dash_cell_types").value == []
    assert at.segmented_control(key="dash_kind").value == "quarter"


# ---- drill-down, downloads, presentation ---------------------------------------------------

def test_attendance_drill_down_to_cells_and_meeting_records(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/attendance.py")
    at.selectbox(key="att_unit").select("NHILONG25").run()  # a row of the province: a new commune
    cells = figures(demo_path, "attendance_by_cell", LAST_YEAR, Filters(unit_codes=("NHILONG25",)))
    df = shown_table(at, t("field.cell_code"), t("dash.regular"))
    assert list(df[t("field.cell_code")]) == [c["cell_code"] for c in cells]
    assert list(df[t("dash.held")]) == [c["held"] for c in cells]
    cell = cells[0]["cell_code"]
    at.selectbox(key="att_cell_NHILONG25").select(cell).run()
    assert not at.exception
    with dbm.read(demo_path) as db:
        cell_id = directory.id_by_code(db, "cells")[cell]
        expected = meetings.list_meetings(db, start=f"{LAST_YEAR}-01-01", end=f"{LAST_YEAR}-12-31", cell_id=cell_id,
                                          limit=500)
    df = shown_table(at, t("field.held_on"), t("dash.leaders_present"))
    assert list(df[t("field.id")]) == [m["id"] for m in expected]
    assert list(df[t("field.held_on")]) == [ui.fmt_date(m["held_on"]) for m in expected]
    assert expected


def test_leader_drill_down_to_the_meetings_attended(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/leaders.py")
    leaders = figures(demo_path, "participation_by_leader", LAST_YEAR)
    busiest = max(leaders, key=lambda r: r["attended"])
    at.selectbox(key="lead_pick").select(busiest["leader_code"]).run()
    assert not at.exception
    df = shown_table(at, t("dash.report_status"))
    attended = figures(demo_path, "leader_meetings", LAST_YEAR, busiest["leader_code"])
    assert list(df[t("field.id")]) == [m["meeting_id"] for m in attended]
    assert len(df) == busiest["attended"] > 0


def test_every_table_and_chart_can_be_downloaded(demo_path, monkeypatch):
    at = start(demo_path, monkeypatch, ky=LAST_YEAR)
    for page in ("pages/attendance.py", "pages/leaders.py", "pages/weakness_board.py", "pages/quality.py"):
        open_page(at, page)
        keys = downloads_on(at)
        assert sum(k.endswith("_csv") for k in keys) == sum(k.endswith("_xlsx") for k in keys) == len(at.dataframe)
        assert sum(k.endswith("_png") for k in keys) == len(charts_on(at)) > 0, page


def vi_number(value: float, decimals: int | None, percent: bool = False) -> str:
    """What a Vietnamese browser's Intl.NumberFormat writes for a number ("2.147", "0,67", "37,5%"); with no
    decimals given, as many as the number has up to three (Intl's default: 8 is "8", 0.67 is "0,67")."""
    text = f"{value * 100 if percent else value:,.{3 if decimals is None else decimals}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text + ("%" if percent else "")


def displayed(frame) -> pd.DataFrame:
    """A shown table as a Vietnamese browser writes it: the text of each cell, from the column formats it is given.

    The widget formats numbers in the browser (st.column_config's named formats go through Intl.NumberFormat in
    the browser's language), so AppTest only sees the numbers and their formats; this writes them out the way
    Intl.NumberFormat("vi-VN") does (checked against node: 0.375 -> "37,5%", 2147 -> "2.147", 2/3 -> "0,67").
    """
    config = json.loads(frame.proto.columns or "{}")
    empty = frame.proto.placeholder if frame.proto.HasField("placeholder") else "None"
    out = {}
    for col in frame.value.columns:
        kind = config.get(col, {}).get("type_config", {})
        step = kind.get("step")
        decimals = len(f"{step:f}".rstrip("0").partition(".")[2]) if step is not None else None
        if kind.get("format") == "percent":
            write = lambda v, d=decimals: vi_number(v, max(d - 2, 0), percent=True)  # noqa: E731
        elif kind.get("format") == "localized":
            write = lambda v, d=decimals: vi_number(v, d)  # noqa: E731
        else:
            write = str
        out[col] = [empty if pd.isna(v) else write(v) for v in frame.value[col]]
    return pd.DataFrame(out)


def test_tables_write_numbers_the_vietnamese_way(demo_path, monkeypatch):
    # a month holds a third of a quarter's expected meetings: fractions to show
    at = open_page(start(demo_path, monkeypatch, ky="2026-06"), "pages/leaders.py")
    frame = next(f for f in at.dataframe if t("dash.assignments") in f.value.columns
                 and t("field.leader_code") in f.value.columns)
    # the table widget formats the numbers (st.column_config), no Styler formats them cell by cell
    assert not frame.proto.arrow_data.styler.display_values
    config = json.loads(frame.proto.columns)
    assert config[t("chart.compliance")]["type_config"] == {"type": "number", "format": "percent", "step": 0.001}
    # no step: whole numbers without decimals ("8", not "8,00"), fractions rounded to two by ui.table
    assert config[t("chart.expected")]["type_config"] == {"type": "number", "format": "localized"}
    assert config[t("dash.assignments")]["type_config"] == {"type": "number", "format": "localized", "step": 1}
    values, text = frame.value, displayed(frame)
    for value, shown in zip(values[t("chart.compliance")], text[t("chart.compliance")], strict=True):
        # one decimal, a comma before it: 0.375 is "37,5%", 0.7727 is "77,3%"
        assert shown == ("" if pd.isna(value) else f"{value * 100:.1f}".replace(".", ",") + "%")
    for value, shown in zip(values[t("chart.expected")], text[t("chart.expected")], strict=True):
        assert shown == (f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".replace(".", ","))
        assert shown != "0,00"  # a third of a meeting is "0,33", two meetings "2"
    assert any(not float(v).is_integer() for v in values[t("chart.expected")])
    # the numbers underneath stay those of lib.metrics (sorting, downloads)
    assert values[t("chart.compliance")].dtype == float


def test_tables_show_no_none(demo_path, monkeypatch):
    at = start(demo_path, monkeypatch, ky=LAST_YEAR)
    for page in ("pages/overview.py", "pages/attendance.py", "pages/leaders.py", "pages/weakness_board.py",
                 "pages/quality.py"):
        open_page(at, page)
        for frame in at.dataframe:
            text = displayed(frame)
            assert not text.isin(["None", "nan", "NaN", "<NA>"]).any().any(), (page, list(text.columns))
    open_rows = figures(demo_path, "open_weaknesses", today=date.today())
    whole = [w for w in open_rows if w["cell_name"] is None]
    assert whole, "the demo notes weaknesses for a commune as a whole"
    open_page(at, "pages/weakness_board.py")
    text = displayed([f for f in at.dataframe if t("field.noted_on") in f.value.columns][-1])  # every open one
    assert (text[t("field.cell_id")] == t("dash.tables.whole_unit")).sum() == len(whole)


def test_chart_png_keeps_vietnamese_text():
    import altair as alt

    chart = alt.Chart(pd.DataFrame({"x": [1]}), title="Tỷ lệ dự họp — Đảng bộ xã Huyền Hội").mark_bar().encode(x="x:Q")
    png = ui.chart_png(chart.to_json())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width > 2 * 300  # rendered at twice the size


def test_presentation_cycles_through_every_slide(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/presentation.py")
    headers = [at.header[0].value]
    for _ in range(7):
        at.button(key="pres_next").click().run()
        assert not at.exception
        headers.append(at.header[0].value)
    assert headers == [t("nav.overview"), t("nav.attendance"), t("chart.attendance_heatmap"), t("nav.leaders"),
                       t("nav.weakness_board"), t("dash.p_weak_time"), t("nav.quality"), t("nav.overview")]
    at.button(key="pres_prev").click().run()
    assert at.header[0].value == t("nav.quality")


def test_presentation_moves_on_only_when_the_slide_time_is_up(demo_path, monkeypatch):
    at = open_page(start(demo_path, monkeypatch, ky=LAST_YEAR), "pages/presentation.py")
    assert at.header[0].value == t("nav.overview")
    for _ in range(3):  # reruns that are no timer tick (after loading, the URL written back) keep slide 1
        at.run()
        assert at.header[0].value == t("nav.overview")
    seconds = at.number_input(key="pres_seconds").value
    # the first slide has been shown for its full time: the next draw is the timer's and moves on
    at.session_state["pres_started_at"] = time.monotonic() - seconds
    at.run()
    assert at.header[0].value == t("nav.attendance")
    at.run()
    assert at.header[0].value == t("nav.attendance")
    # paused, the time being up moves nothing
    at.toggle(key="pres_paused").set_value(True).run()
    at.session_state["pres_started_at"] = time.monotonic() - 10 * seconds
    at.run()
    assert at.header[0].value == t("nav.attendance")


def test_user_entered_names_are_shown_as_plain_text(db_path, monkeypatch):
    fast_hashing(monkeypatch)
    make_user(db_path, "quantri", "admin")
    name = "Xã **Đậm** <b>thẻ</b> [liên kết](http://x)"
    from tests.factories import add_meeting

    with dbm.write(db_path) as db:
        unit = directory.create_unit(db, SYSTEM, {"code": "X1", "name": name, "kind": "xa"})
        cell = directory.create_cell(db, SYSTEM, {"code": "X1-A", "unit_id": unit, "name": "Chi bộ ấp A",
                                                  "cell_type": "ap_khom", "meeting_day": 5,
                                                  "valid_from": "2020-01-01"})
    add_meeting(db_path, cell, f"{LAST_YEAR}-03-05")
    at = open_page(start(db_path, monkeypatch, "quantri", "Matkhau123", ky=LAST_YEAR), "pages/attendance.py")
    # the lone unit is the home node and has only cells: its cells are the rows (branch drill), its name is in the
    # breadcrumbs and the table's unit column
    assert shown_table(at, t("field.cell_code"), t("chart.unit"))[t("chart.unit")].tolist() == [name]
    assert f"**{ui.md_escape(name)}**" in [m.value for m in at.markdown]
    assert not any("<b>" in m.value or "**Đậm**" in m.value for m in at.markdown)
