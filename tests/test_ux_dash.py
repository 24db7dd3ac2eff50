"""Issue 16 on the dashboards: filters at the top, honest rate axes, an overview chart, a clearer presentation mode.

Chart tests read the Vega-Lite spec (as tests/test_charts.py does); page tests drive app.py through AppTest."""

import json
from datetime import date

import pandas as pd
import pytest

from lib import charts, demo, ui
from lib.i18n import t
from tests.helpers import app_test, login

DEMO_TODAY = date(2026, 6, 30)
PASSWORD = "demo-quantri-2025"


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def rate_scales(spec: dict) -> list[dict]:
    """The scale of every rate encoding (a field named rate, compliance or share) in the chart's views."""
    return [enc["scale"] for view in layers(spec) for channel, enc in view.get("encoding", {}).items()
            if channel in ("x", "y") and enc.get("field") in ("rate", "compliance", "share")
            and enc.get("type") == "quantitative"]


# ---- item 10: charts ------------------------------------------------------------------------

# the demo's trend of the report: 87.2%, 85.5%, 87.2%, a 1.7-point dip
TREND = pd.DataFrame({"month": ["2025-07", "2025-08", "2025-09"], "series": ["Toàn bộ"] * 3,
                      "rate": [0.872, 0.855, 0.872]})
BY_MONTH = [{"month": "2025-07", "rate": 0.872, "coverage": 0.95}, {"month": "2025-08", "rate": 0.855, "coverage": 1.0},
            {"month": "2025-09", "rate": None, "coverage": None}]


def test_attendance_trend_axis_runs_from_zero_to_one_hundred_percent():
    (lines,) = layers(charts.attendance_trend_chart(TREND).to_dict())
    y = lines["encoding"]["y"]
    assert y["scale"]["domain"] == [0, 1]  # not fitted to 85–87%
    assert "zero" not in y["scale"] or y["scale"]["zero"] is True
    assert y["axis"]["format"] == "%"


def test_one_series_trend_has_no_legend_and_two_series_have_one():
    (lines,) = layers(charts.attendance_trend_chart(TREND).to_dict())
    assert lines["encoding"]["color"]["legend"] is None
    two = pd.concat([TREND, TREND.assign(series="Xã Tân An", rate=[0.8, 0.9, 0.85])])
    (lines,) = layers(charts.attendance_trend_chart(two).to_dict())
    assert lines["encoding"]["color"]["legend"] == {"orient": "bottom"}


@pytest.mark.parametrize("build", [
    lambda: charts.attendance_trend_chart(TREND, threshold=0.85),
    lambda: charts.attendance_ranked_chart(pd.DataFrame({"unit_name": ["Xã Tân An"], "rate": [0.88],
                                                         "present": [88], "required": [100]}), 0.85),
    lambda: charts.group_compliance_chart(pd.DataFrame({"grp": ["uv_btv"], "compliance": [0.9], "expected": [4.0],
                                                        "attended": [4]})),
    lambda: charts.properties_chart(pd.DataFrame({"property": ["leadership"], "count": [9], "share": [0.9]})),
    lambda: charts.monthly_rates_chart(charts.monthly_rates_frame(BY_MONTH)),
], ids=["trend", "ranked", "groups", "properties", "monthly"])
def test_every_rate_axis_includes_zero(build):
    scales = rate_scales(build().to_dict())
    assert scales
    for scale in scales:
        assert scale["domain"][0] == 0 and scale["domain"][1] >= 1


def test_monthly_rates_frame_pairs_attendance_and_coverage_and_skips_empty_months():
    frame = charts.monthly_rates_frame(BY_MONTH)
    assert frame.to_dict("records") == [
        {"month": "2025-07", "measure": "Tỷ lệ đảng viên dự sinh hoạt", "rate": 0.872},
        {"month": "2025-08", "measure": "Tỷ lệ đảng viên dự sinh hoạt", "rate": 0.855},
        {"month": "2025-07", "measure": "Tỷ lệ chi bộ sinh hoạt đủ", "rate": 0.95},
        {"month": "2025-08", "measure": "Tỷ lệ chi bộ sinh hoạt đủ", "rate": 1.0}]


def test_monthly_rates_chart_bars_by_month_with_legend_below():
    spec = charts.monthly_rates_chart(charts.monthly_rates_frame(BY_MONTH)).to_dict()
    bars, text = layers(spec)
    enc = bars["encoding"]
    assert (enc["x"]["field"], enc["xOffset"]["field"], enc["y"]["field"]) == ("month", "measure", "rate")
    assert enc["color"]["legend"]["orient"] == "bottom"
    assert enc["color"]["scale"]["domain"] == ["Tỷ lệ đảng viên dự sinh hoạt", "Tỷ lệ chi bộ sinh hoạt đủ"]
    assert text["encoding"]["text"]["format"] == ".1%"  # as the headline cards write them
    assert spec["title"]["text"] == "Dự sinh hoạt và sinh hoạt đủ theo tháng"  # short enough for a phone
    # a year's 24 bars carry no labels (they would crowd); the tooltip still gives each figure
    year = [{"month": f"2025-{m:02d}", "rate": 0.9, "coverage": 0.9} for m in range(1, 13)]
    assert len(layers(charts.monthly_rates_chart(charts.monthly_rates_frame(year)).to_dict())) == 1


# ---- pages through AppTest --------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("uxdash") / "demo.db"
    demo.load(path, meetings=1500, seed=7, today=DEMO_TODAY)
    return path


def open_as_admin(path, monkeypatch, page: str | None = None, **params: str):
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = app_test(path)
    for name, value in params.items():
        at.query_params[name] = value
    login(at, "admin", PASSWORD)
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_shows_the_monthly_rates_chart(demo_path, monkeypatch):
    at = open_as_admin(demo_path, monkeypatch, ky="2025-Q3")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    (spec,) = [s for s in specs if s.get("title", {}).get("text") == t("chart.monthly_rates")]
    bars = spec["layer"][0]["encoding"]
    assert (bars["x"]["field"], bars["xOffset"]["field"]) == ("month", "measure")
    assert bars["y"]["scale"]["domain"] == [0, 1]


# ---- item 11: presentation mode ---------------------------------------------------------------

def chart_titles(at) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title", "")
        titles.append(title.get("text", "") if isinstance(title, dict) else title)
    return titles


def test_presentation_controls_say_what_they_do(demo_path, monkeypatch):
    at = open_as_admin(demo_path, monkeypatch, "pages/presentation.py", ky="2025")
    seconds = at.number_input(key="pres_seconds")
    assert seconds.label == t("dash.p_seconds") == "Số giây mỗi trang"
    assert seconds.proto.label_visibility.value == seconds.proto.label_visibility.VISIBLE  # not a bare "30"
    assert at.toggle(key="pres_paused").label == "Tạm dừng tự chuyển trang"


def test_no_slide_repeats_its_heading_as_a_chart_title(demo_path, monkeypatch):
    at = open_as_admin(demo_path, monkeypatch, "pages/presentation.py", ky="2025")
    seen = {}
    for _ in range(7):
        heading = at.header[0].value
        seen[heading] = chart_titles(at)
        assert heading not in seen[heading], heading
        at.button(key="pres_next").click().run()
        assert not at.exception
    assert len(seen) == 7
    # the heatmap slide's heading is the chart's name; the weakness slide has a heading of its own
    assert seen[t("chart.attendance_heatmap")] == [""]
    assert seen[t("dash.p_weak_time")] == [t("chart.weakness_trend"), t("chart.weakness_ageing")]


def test_first_slide_adds_the_months_chart_under_the_cards(demo_path, monkeypatch):
    at = open_as_admin(demo_path, monkeypatch, "pages/presentation.py", ky="2025")
    assert at.header[0].value == t("nav.overview")
    assert len(at.metric) == 8
    assert chart_titles(at) == [t("chart.monthly_rates")]
    (chart,) = at.get("vega_lite_chart")
    assert json.loads(chart.proto.spec)["height"] == 180


# ---- item 9: a 390-pixel phone -------------------------------------------------------------------

def test_on_screen_long_labels_shorten_and_legends_stack_on_a_narrow_chart():
    spec = charts.styled(charts.absences_chart(pd.DataFrame({"unit_name": ["Xã An Trường (cũ, đến 30/6/2025)"],
                                                             "absent_excused": [5], "absent_unexcused": [2]})),
                         screen=True).to_dict()
    narrow = "containerSize()[0] < 520"
    assert spec["config"]["axis"]["labelLimit"] == {"expr": f"{narrow} ? 120 : 260"}
    assert spec["config"]["legend"]["labelLimit"] == {"expr": f"{narrow} ? 300 : 320"}
    assert spec["config"]["legend"]["columns"] == {"expr": f"{narrow} ? 1 : 0"}  # one entry a line on a phone
    # a PNG or a report has no browser around it: fixed limits there
    fixed = charts.styled(charts.absences_chart(pd.DataFrame({"unit_name": ["Xã Tân An"], "absent_excused": [5],
                                                              "absent_unexcused": [2]}))).to_dict()
    assert fixed["config"]["axis"]["labelLimit"] == 260 and "columns" not in fixed["config"]["legend"]


def test_heatmap_legend_sits_below_the_plot():
    df = pd.DataFrame({"unit_name": ["Xã Tân An"], "month": ["2025-01"], "rate": [0.9], "meetings": [4]})
    (view,) = layers(charts.attendance_heatmap_chart(df).to_dict())
    assert view["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_overview_cards_come_in_reading_order(demo_path, monkeypatch):
    # a phone stacks columns: with one set of four columns the cards came 1, 5, 2, 6, ...
    at = open_as_admin(demo_path, monkeypatch, ky="2025-Q3")
    assert [m.label for m in at.metric] == [t(f"dash.h_{key}") for key, _, _ in ui.HEADLINES]
