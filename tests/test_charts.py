import json
import re

import pandas as pd
import pytest

from lib import charts
from lib.i18n import language


def layers(spec: dict) -> list[dict]:
    """The single-view specs of a chart (the chart itself, or each layer)."""
    return spec.get("layer", [spec])


def mark(view: dict) -> str:
    m = view["mark"]
    return m["type"] if isinstance(m, dict) else m


def title(spec: dict) -> str:
    tl = spec["title"]
    return tl["text"] if isinstance(tl, dict) else tl


def dataset(spec: dict) -> list[dict]:
    """Rows of the chart's main dataset (the top-level data, or the first layer's)."""
    return spec["datasets"][(spec.get("data") or layers(spec)[0]["data"])["name"]]


def tooltip_titles(view: dict) -> list[str]:
    return [tip["title"] for tip in view["encoding"]["tooltip"]]


ATTENDANCE = pd.DataFrame({
    "unit_name": ["Xã Huyền Hội", "Thị trấn Càng Long", "Xã Đức Mỹ"],
    "rate": [0.91, 0.78, 0.86],
    "present": [91, 78, 86],
    "required": [100, 100, 100],
})


def test_attendance_ranked_chart_bar_sorted_with_threshold_rule():
    spec = charts.attendance_ranked_chart(ATTENDANCE, 0.85).to_dict()
    bars, text, rule = layers(spec)
    assert [mark(bars), mark(text), mark(rule)] == ["bar", "text", "rule"]
    assert bars["encoding"]["x"] == {"field": "rate", "type": "quantitative",
                                     "title": "Tỷ lệ đảng viên dự sinh hoạt",
                                     "axis": {"format": "%", "values": [0, 0.2, 0.4, 0.6, 0.8, 1.0]},
                                     "scale": {"domain": [0, 1.12], "nice": False}}
    assert bars["encoding"]["y"]["field"] == "unit_name"
    assert bars["encoding"]["y"]["type"] == "nominal"
    assert bars["encoding"]["y"]["sort"] == ["Xã Huyền Hội", "Xã Đức Mỹ", "Thị trấn Càng Long"]  # by rate
    assert title(spec) == "Tỷ lệ đảng viên dự sinh hoạt theo đảng bộ"
    assert tooltip_titles(bars) == ["Đảng bộ", "Tỷ lệ đảng viên dự sinh hoạt", "Có mặt", "Phải dự"]
    # the rule sits at the threshold; only Càng Long (0.78) is flagged below it
    assert spec["datasets"][rule["data"]["name"]] == [{"threshold": 0.85}]
    assert rule["encoding"]["x"] == {"field": "threshold", "type": "quantitative"}
    below = {row["unit_name"]: row["below"] for row in dataset(spec)}
    assert below == {"Xã Huyền Hội": False, "Thị trấn Càng Long": True, "Xã Đức Mỹ": False}


def test_attendance_ranked_chart_click_selects_unit_code():
    df = ATTENDANCE.assign(unit_code=["HH", "CL", "DM"])
    spec = charts.attendance_ranked_chart(df, 0.85, select=True).to_dict()
    (param,) = spec["params"]
    assert (param["name"], param["select"]) == ("unit", {"type": "point", "fields": ["unit_code"]})
    assert param["views"] == [layers(spec)[0]["name"]]  # the bars, not the labels or the rule
    assert "params" not in charts.attendance_ranked_chart(df, 0.85).to_dict()


def test_units_sharing_a_name_show_their_validity_never_their_code():
    # after the merger the new "Xã An Trường" sits beside the old one: the figures arrive with the display names
    # (directory.display_names, issue 11), and the chart shows them as they are
    df = pd.DataFrame({"unit_code": ["ANTRUONG", "ANTRUONG25", "TANAN"],
                       "unit_name": ["Xã An Trường (cũ, đến 30/6/2025)", "Xã An Trường", "Xã Tân An"],
                       "rate": [0.9, 0.8, 0.7], "present": [9, 8, 7], "required": [10, 10, 10]})
    assert list(charts.unit_labels(df)) == ["Xã An Trường (cũ, đến 30/6/2025)", "Xã An Trường", "Xã Tân An"]
    bars = layers(charts.attendance_ranked_chart(df, 0.85).to_dict())[0]
    assert bars["encoding"]["y"]["sort"] == ["Xã An Trường (cũ, đến 30/6/2025)", "Xã An Trường", "Xã Tân An"]


def test_chart_titles_follow_language():
    with language("en"):
        spec = charts.attendance_ranked_chart(ATTENDANCE, 0.85).to_dict()
    assert title(spec) == "Attendance rate by unit"
    assert layers(spec)[0]["encoding"]["x"]["title"] == "Attendance rate"


def test_attendance_heatmap_chart_rect_month_by_unit():
    df = pd.DataFrame({"unit_name": ["Xã Tân An", "Xã Tân An"], "month": ["2025-01", "2025-02"],
                       "rate": [0.9, 0.7], "meetings": [4, 3]})
    spec = charts.attendance_heatmap_chart(df).to_dict()
    (view,) = layers(spec)
    assert mark(view) == "rect"
    enc = view["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("month", "ordinal")
    assert (enc["y"]["field"], enc["y"]["type"]) == ("unit_name", "nominal")
    assert (enc["color"]["field"], enc["color"]["type"]) == ("rate", "quantitative")
    assert tooltip_titles(view) == ["Đảng bộ", "Tháng", "Tỷ lệ đảng viên dự sinh hoạt", "Số buổi sinh hoạt"]
    # months are shown as MM/YYYY
    assert "substring(datum.value, 5, 7)" in enc["x"]["axis"]["labelExpr"]
    assert title(spec) == "Tỷ lệ đảng viên dự sinh hoạt theo tháng"


def test_attendance_trend_chart_lines_with_optional_threshold():
    df = pd.DataFrame({"month": ["2025-01", "2025-02"], "series": ["Toàn huyện"] * 2, "rate": [0.8, 0.9]})
    spec = charts.attendance_trend_chart(df, threshold=0.85).to_dict()
    lines, rule = layers(spec)
    assert mark(lines) == "line" and mark(rule) == "rule"
    assert lines["encoding"]["color"]["field"] == "series"
    assert lines["encoding"]["y"]["type"] == "quantitative"
    assert len(layers(charts.attendance_trend_chart(df).to_dict())) == 1


def test_absences_chart_stacks_with_and_without_reason():
    df = pd.DataFrame({"unit_name": ["Xã Tân An"], "absent_excused": [5], "absent_unexcused": [2]})
    spec = charts.absences_chart(df).to_dict()
    assert mark(spec) == "bar"
    rows = {r["kind"]: r["count"] for r in dataset(spec)}
    assert rows == {"Vắng có lý do": 5, "Vắng không lý do": 2}
    assert spec["encoding"]["color"]["scale"]["domain"] == ["Vắng có lý do", "Vắng không lý do"]


def test_leader_attendance_chart_expected_vs_attended():
    df = pd.DataFrame({"full_name": ["Nguyễn Văn Á", "Trần Thị Bé"], "expected": [4.0, 2.0], "attended": [3, 2],
                       "compliance": [0.75, 1.0]})
    spec = charts.leader_attendance_chart(df).to_dict()
    assert mark(spec) == "bar"
    enc = spec["encoding"]
    assert enc["y"]["field"] == "full_name"
    assert enc["yOffset"]["field"] == "measure"
    assert enc["x"]["field"] == "count" and enc["x"]["type"] == "quantitative"
    rows = sorted((r["full_name"], r["measure"], r["count"]) for r in dataset(spec))
    assert rows == [("Nguyễn Văn Á", "Phải dự", 4.0), ("Nguyễn Văn Á", "Đã dự", 3.0),
                    ("Trần Thị Bé", "Phải dự", 2.0), ("Trần Thị Bé", "Đã dự", 2.0)]
    assert title(spec) == "Cán bộ phụ trách: phải dự và đã dự"


def test_group_compliance_chart_groups_in_fixed_order():
    df = pd.DataFrame({"grp": ["mttq_doan_the", "uv_btv"], "compliance": [0.5, 1.0], "expected": [2.0, 4.0],
                       "attended": [1, 4]})
    spec = charts.group_compliance_chart(df).to_dict()
    bars, _ = layers(spec)
    assert bars["encoding"]["y"]["sort"] == ["Ủy viên Ban Thường vụ", "Mặt trận, đoàn thể"]
    assert bars["encoding"]["x"]["field"] == "compliance"


def test_reports_chart_on_time_late_missing():
    df = pd.DataFrame({"grp": ["uv_btv"], "reports": [4], "late_reports": [1], "missing_reports": [2]})
    spec = charts.reports_chart(df).to_dict()
    assert mark(spec) == "bar"
    assert {r["kind"]: r["count"] for r in dataset(spec)} == {"Đúng hạn": 3, "Trễ hạn": 1, "Chưa nộp": 2}
    assert spec["encoding"]["color"]["scale"]["domain"] == ["Đúng hạn", "Trễ hạn", "Chưa nộp"]


def test_weakness_matrix_chart_seed_categories_first():
    df = pd.DataFrame({"category": ["other", "y_kien_trong_tam", "pho_bien_van_ban", "attendance_low"],
                       "unit_name": ["Xã Tân An"] * 4, "n": [1, 2, 3, 4]})
    spec = charts.weakness_matrix_chart(df).to_dict()
    rect, text = layers(spec)
    assert mark(rect) == "rect" and mark(text) == "text"
    assert rect["encoding"]["y"]["sort"] == [
        "Quán triệt văn bản cấp trên còn hạn chế",
        "Ý kiến phát biểu chưa đi sâu vào trọng tâm",
        "Tỷ lệ đảng viên dự sinh hoạt thấp",
        "Khác",
    ]
    assert rect["encoding"]["color"]["field"] == "n"
    assert charts.category_order()[:5] == [
        "Quán triệt văn bản cấp trên còn hạn chế",
        "Chưa đi sâu công tác xây dựng Đảng, đoàn thể",
        "Đánh giá chưa sát tình hình tư tưởng đảng viên",
        "Chưa khắc phục đầy đủ hạn chế sau kiểm điểm",
        "Ý kiến phát biểu chưa đi sâu vào trọng tâm",
    ]


def test_weakness_matrix_chart_counts_written_only_where_they_fit():
    """Up to MATRIX_LABELLED_UNITS units across, each square carries its count and each column its unit's name; one
    more unit and only the colour (with its legend and tooltip) says the count, and the axis leaves out names that
    would overlap, the columns being too narrow for them."""
    def matrix(units: int) -> dict:
        names = [f"Xã {i:03d}" for i in range(units)]
        df = pd.DataFrame({"category": ["other", "attendance_low"] * units,
                           "unit_name": [n for n in names for _ in range(2)], "n": list(range(2 * units))})
        return charts.weakness_matrix_chart(df).to_dict()

    limit = charts.MATRIX_LABELLED_UNITS
    roomy = matrix(limit)
    assert [mark(v) for v in layers(roomy)] == ["rect", "text"]
    assert layers(roomy)[0]["encoding"]["x"]["axis"]["labelOverlap"] is False  # every unit named
    wide = matrix(limit + 1)
    assert [mark(v) for v in layers(wide)] == ["rect"]
    assert layers(wide)[0]["encoding"]["x"]["axis"]["labelOverlap"] == "greedy"  # names that would overlap left out
    assert {tip["field"] for tip in layers(wide)[0]["encoding"]["tooltip"]} == {"category_label", "unit_name", "n"}
    assert len(dataset(wide)) == 2 * (limit + 1)


def test_weakness_trend_chart_opened_resolved_open():
    df = pd.DataFrame({"month": ["2025-01", "2025-02"], "noted": [3, 1], "resolved": [0, 2], "open_at_end": [3, 2]})
    spec = charts.weakness_trend_chart(df).to_dict()
    assert mark(spec) == "line"
    assert spec["encoding"]["color"]["scale"]["domain"] == ["Phát sinh", "Đã khắc phục", "Còn tồn"]
    assert len(dataset(spec)) == 6


def test_weakness_ageing_chart_buckets_in_order():
    df = pd.DataFrame({"bucket": ["181+", "0-30"], "count": [2, 5]})
    spec = charts.weakness_ageing_chart(df).to_dict()
    assert mark(spec) == "bar"
    assert spec["encoding"]["x"]["sort"] == ["0–30 ngày", "31–90 ngày", "91–180 ngày", "Trên 180 ngày"]
    assert {r["age"]: r["count"] for r in dataset(spec)} == {"Trên 180 ngày": 2, "0–30 ngày": 5}


def test_rating_frame_shares_of_rated_meetings():
    df = charts.rating_frame({"tot": 3, "kha": 0, "trung_binh": 0, "kem": 1, "unrated": 6})
    assert df.to_dict("records") == [{"rating": "tot", "count": 3, "share": 0.75},
                                     {"rating": "kha", "count": 0, "share": 0.0},
                                     {"rating": "trung_binh", "count": 0, "share": 0.0},
                                     {"rating": "kem", "count": 1, "share": 0.25}]
    assert charts.rating_frame({})["share"].isna().all()


def test_trend_frame_adds_unit_lines_only_for_a_few_units():
    total = [{"month": "2025-01", "rate": 0.8}, {"month": "2025-02", "rate": None}]
    units = [{"month": "2025-01", "rate": 0.7, "unit_name": "A"}, {"month": "2025-01", "rate": 0.9, "unit_name": "B"}]
    df = charts.trend_frame(total, units, "Tất cả")
    assert sorted(zip(df["series"], df["rate"], strict=True)) == [("A", 0.7), ("B", 0.9), ("Tất cả", 0.8)]
    assert list(charts.trend_frame(total, units, "Tất cả", max_units=1)["series"]) == ["Tất cả"]
    assert list(charts.trend_frame(total, units[:1], "Tất cả")["series"]) == ["Tất cả"]


def test_rating_chart_tot_to_kem():
    df = pd.DataFrame({"rating": ["kem", "tot"], "count": [1, 3], "share": [0.25, 0.75]})
    spec = charts.rating_chart(df).to_dict()
    bars, text = layers(spec)
    assert mark(bars) == "bar"
    assert bars["encoding"]["x"]["sort"] == ["Tốt", "Khá", "Trung bình", "Kém"]
    assert bars["encoding"]["color"]["scale"]["range"][0] == charts.RATING_COLOURS["tot"]
    assert title(spec) == "Xếp loại chất lượng sinh hoạt"


def test_properties_chart_three_properties():
    df = pd.DataFrame({"property": ["leadership", "education", "combativeness"], "count": [8, 6, 5],
                       "share": [0.8, 0.6, 0.5]})
    spec = charts.properties_chart(df).to_dict()
    bars, _ = layers(spec)
    assert bars["encoding"]["y"]["sort"] == ["Tính lãnh đạo", "Tính giáo dục", "Tính chiến đấu"]
    assert bars["encoding"]["x"]["field"] == "share"


def test_duration_chart_flags_short_bands():
    df = pd.DataFrame({"bucket": ["<60", "60-89", "90-119", "120+"], "count": [1, 2, 3, 4],
                       "short": [True, True, False, False]})
    spec = charts.duration_chart(df).to_dict()
    assert mark(spec) == "bar"
    assert spec["encoding"]["x"]["sort"] == ["Dưới 60 phút", "60–89 phút", "90–119 phút", "Từ 120 phút"]
    assert spec["encoding"]["color"]["field"] == "short"


@pytest.mark.parametrize("scale, size", [(1.0, 15), (2.0, 30)])
def test_styled_scales_fonts(scale, size):
    spec = charts.styled(charts.attendance_ranked_chart(ATTENDANCE, 0.85), scale).to_dict()
    assert spec["config"]["axis"]["labelFontSize"] == size
    assert spec["config"]["title"]["fontSize"] == size + 5
    json.dumps(spec)  # serialisable for vl-convert and the browser


def test_empty_frames_still_build():
    empty = ATTENDANCE.iloc[0:0]
    assert layers(charts.attendance_ranked_chart(empty, 0.85).to_dict())[0]["mark"]["type"] == "bar"


def test_ranked_chart_leaves_out_units_without_meetings():
    df = pd.concat([ATTENDANCE, pd.DataFrame({"unit_name": ["Xã Mỹ Cẩm"], "rate": [None], "present": [0],
                                              "required": [0]})])
    names = [row["unit_name"] for row in dataset(charts.attendance_ranked_chart(df, 0.85).to_dict())]
    assert names == ["Xã Huyền Hội", "Xã Đức Mỹ", "Thị trấn Càng Long"]


@pytest.mark.parametrize("lang, decimal", [("vi", ","), ("en", ".")])
def test_styled_charts_write_numbers_in_the_users_language(lang, decimal):
    import altair as alt

    df = pd.DataFrame({"unit_code": ["NL"], "unit_name": ["Xã Nhị Long"], "rate": [0.926]})
    with language(lang):
        spec = charts.styled(alt.Chart(df).mark_bar().encode(x="rate:Q", y="unit_name:N")).to_dict()
    assert spec["config"]["locale"]["number"]["decimal"] == decimal


def svg_texts(chart) -> list[str]:
    """The words and numbers drawn in a chart rendered to SVG (vl-convert)."""
    import vl_convert as vlc

    return re.findall(r"<text[^>]*>([^<]*)</text>", vlc.vegalite_to_svg(charts.styled(chart).to_json()))


@pytest.mark.parametrize("build", [
    lambda: charts.weakness_matrix_chart(pd.DataFrame({"category": ["other", "attendance_low"],
                                                       "unit_name": ["Xã Tân An"] * 2, "n": [1, 2]})),
    lambda: charts.weakness_ageing_chart(pd.DataFrame({"bucket": ["0-30", "181+"], "count": [1, 2]})),
    lambda: charts.weakness_trend_chart(pd.DataFrame({"month": ["2025-01", "2025-02"], "noted": [1, 2],
                                                      "resolved": [0, 1], "open_at_end": [1, 2]})),
    lambda: charts.rating_chart(charts.rating_frame({"tot": 2, "kha": 1})),
    lambda: charts.duration_chart(pd.DataFrame({"bucket": ["<60", "120+"], "count": [1, 2],
                                                "short": [True, False]})),
], ids=["matrix legend", "ageing", "trend", "ratings", "durations"])
def test_counts_are_labelled_with_whole_numbers_only(build):
    with language("vi"):
        texts = svg_texts(build())
    numbers = [x for x in texts if re.fullmatch(r"[\d.,]+", x)]
    assert "2" in numbers
    # whole counts of one or two: no tick or legend label 0,5 / 1,2 / 1.4
    assert not [x for x in numbers if "," in x or "." in x]
