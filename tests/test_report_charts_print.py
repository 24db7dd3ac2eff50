"""The report's charts are for black-and-white print: shades of grey with direct labels (no meaning in red against
green), a serif close to Times New Roman with Vietnamese glyphs that vl-convert really draws, no internal unit codes;
the dashboards keep their colour charts."""

import io
import json
import re
import subprocess
import zipfile
from datetime import date

import pandas as pd
import pytest
from PIL import Image

from lib import charts, demo, reports
from lib import db as dbm
from lib.i18n import t

DEMO_TODAY = date(2025, 12, 15)
PERIOD = "2025-Q3"
HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
NAMED_GREYS = {"black", "white", "transparent"}


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("charts_print") / "demo.db"
    demo.load(path, meetings=3000, seed=3, today=DEMO_TODAY)
    return path


@pytest.fixture(scope="module")
def report_data(demo_path):
    return reports.gather(demo_path, PERIOD, today=DEMO_TODAY)


@pytest.fixture(scope="module")
def print_specs(report_data):
    found = reports._report_charts(report_data)
    # the demo's quarter has something to show in every chart of the report
    assert set(found) == {"attendance", "quality", "groups", "reports", "weaknesses"}
    return {key: reports.chart_spec(chart) for key, (chart, _) in found.items()}


def is_grey(value: str) -> bool:
    if value in NAMED_GREYS:
        return True
    match = HEX.match(value)
    if not match:
        return False
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    return r == g == b


def colours(node, path=()):
    """Every colour a spec names: scale ranges and schemes, mark colours, fills, strokes, values of colour channels."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = (*path, key)
            if key in ("color", "fill", "stroke") and isinstance(value, str):
                yield here, value
            elif key == "scheme":
                yield here, f"scheme:{value}"
            elif key == "range" and isinstance(value, list) and any(x in path for x in ("color", "fill", "stroke")):
                for item in value:
                    yield here, item
            elif key == "value" and isinstance(value, str) and any(x in path for x in ("color", "fill", "stroke")):
                yield here, value
            else:
                yield from colours(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from colours(item, path)


def test_report_chart_specs_use_greys_only(print_specs):
    for key, spec in print_specs.items():
        named = list(colours(spec))
        assert named, key  # the walk finds the colours it must judge
        hues = [(path, value) for path, value in named if not is_grey(value)]
        assert hues == [], (key, hues)


def test_report_chart_specs_use_the_serif(print_specs):
    for spec in print_specs.values():
        fonts = spec["config"]["font"].split(", ")
        assert fonts[0] == charts.PRINT_FONT == "FreeSerif"
        assert "Liberation Serif" in fonts and fonts[-1] == "serif"
        assert "DejaVu Sans" not in fonts and "sans-serif" not in fonts


def test_report_chart_specs_carry_no_unit_codes(print_specs, demo_path):
    with dbm.read(demo_path) as db:
        codes = [r[0] for r in db.execute("select code from units union select code from cells")]
    assert "ANTRUONG25" in codes
    for key, spec in print_specs.items():
        text = json.dumps(spec, ensure_ascii=False)
        assert [c for c in codes if re.search(rf"\b{re.escape(c)}\b", text)] == [], key
    # the bars are named the way people name the units
    names = [row["unit_name"] for rows in print_specs["attendance"]["datasets"].values() for row in rows
             if "unit_name" in row]
    assert "Xã An Trường" in names and not any("(" in n for n in names)


def test_the_reports_chart_writes_each_count_on_its_part(print_specs):
    # late and missing are told apart by shade, legend and the count written on each part, not by colour
    text_layers = [layer for layer in print_specs["reports"]["layer"] if layer["mark"]["type"] == "text"]
    assert len(text_layers) == 1 and text_layers[0]["encoding"]["text"]["field"] == "count"


def report_pngs(demo_path) -> list[bytes]:
    content = reports.compiled_docx(demo_path, PERIOD, today=DEMO_TODAY)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return [z.read(name) for name in sorted(z.namelist()) if name.startswith("word/media/")]


def test_the_rendered_report_charts_are_grey(demo_path):
    pngs = report_pngs(demo_path)
    assert len(pngs) == 5
    for png in pngs:
        with Image.open(io.BytesIO(png)) as image:
            pixels = image.convert("RGB").getdata()
            worst = max(max(p) - min(p) for p in pixels)
            dark = sum(1 for p in pixels if max(p) < 200)
        assert worst <= 3, worst  # every pixel r == g == b (within antialiasing's rounding)
        assert dark > 1000  # and something is drawn


def draw(text: str, font: str) -> bytes:
    import vl_convert

    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="40"><rect width="700" height="40" '
           f'fill="white"/><text x="5" y="28" font-family="{font}" font-size="22">{text}</text></svg>')
    return vl_convert.svg_to_png(svg)


def ink_width(png: bytes) -> int:
    with Image.open(io.BytesIO(png)) as image:
        box = image.convert("L").point(lambda p: 255 if p < 128 else 0).getbbox()
    return box[2] - box[0]


def test_vl_convert_really_draws_the_serif_with_vietnamese_letters():
    found = subprocess.run(["fc-list", f":lang=vi:family={charts.PRINT_FONT}", "file"], capture_output=True,
                           text=True, check=True).stdout
    assert found.strip(), "FreeSerif with Vietnamese is missing: apt-get install -y fonts-freefont-ttf (.ci/run does)"
    label = "Xã An Trường: ưu điểm, hạn chế, khuyết điểm, Quyết định"
    ours = draw(label, reports.CHART_FONT)
    # the list's first font is the one drawn, for the Vietnamese letters too: the same picture as FreeSerif alone
    assert ours == draw(label, charts.PRINT_FONT)
    # and not a fallback: DejaVu Serif (what a font without ư/ơ falls back to) is a good deal wider
    assert ink_width(ours) < 0.9 * ink_width(draw(label, "DejaVu Serif"))


def test_the_dashboards_keep_their_colours():
    frame = pd.DataFrame({"unit_code": ["A", "B"], "unit_name": ["Xã A", "Xã B"], "rate": [0.95, 0.6],
                          "present": [19, 12], "required": [20, 20]})
    screen = json.dumps(charts.attendance_ranked_chart(frame, 0.8).to_dict())
    assert charts.NEUTRAL in screen and charts.BAD in screen
    printed = json.dumps(charts.attendance_ranked_chart(frame, 0.8, grey=True).to_dict())
    assert charts.NEUTRAL not in printed and charts.BAD not in printed
    groups = pd.DataFrame({"grp": ["uv_btv"], "reports": [3], "late_reports": [1], "missing_reports": [1],
                           "attended": [4]})
    assert charts.GOOD in json.dumps(charts.reports_chart(groups).to_dict())


def test_a_long_ranking_prints_the_lowest_rates_and_says_so():
    """30 units: the printed chart has the 25 lowest rates (ties by name) and a subtitle naming 25 of 30; 25 or fewer
    units are all drawn, without it."""
    rows = pd.DataFrame([{"unit_name": f"Xã {i:02d}", "rate": (i % 10) / 10, "present": i, "required": 30}
                         for i in range(30)])
    shown, subtitle = reports._lowest(rows)
    # rates 0.0-0.9 three times each: the 25 lowest are the three of each rate 0.0-0.7 (24) and the first 0.8 by name
    assert len(shown) == 25
    assert sorted(shown["rate"].round(1)).count(0.8) == 1 and 0.9 not in set(shown["rate"].round(1))
    assert "Xã 08" in set(shown["unit_name"]) and "Xã 18" not in set(shown["unit_name"])
    assert subtitle == t("report.chart_lowest", shown=25, total=30) and "25" in subtitle and "30" in subtitle
    chart = charts.attendance_ranked_chart(shown, 0.85, subtitle, grey=True).to_dict()
    assert chart["title"]["subtitle"] == subtitle
    few, none = reports._lowest(rows.head(25))
    assert len(few) == 25 and none is None
