"""Dashboard charts: pure functions from a DataFrame to an Altair chart, Vietnamese titles and tooltips."""

import altair as alt
import pandas as pd

from lib.domain import LeaderGroup, Rating, WeaknessCategory
from lib.i18n import get_language, t

# Projector-sized defaults; presentation mode scales them up with styled(chart, scale).
BASE_FONT = 15
# The browser keeps Streamlit's own font; the PNG export names one with every Vietnamese letter.
PNG_FONT = "DejaVu Sans"
# Rates run to 100%; the scale goes a little further so a label beside a full bar stays visible.
RATE_SCALE = alt.Scale(domain=[0, 1.12], nice=False)
RATE_AXIS = alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
# A rate over time keeps the whole 0–100% range: an axis fitted to the data (85–89.5%) draws a 1.7-point dip as a
# collapse.
TREND_SCALE = alt.Scale(domain=[0, 1], nice=False)
WIDTH = "container"
GOOD = "#2e7d32"
BAD = "#c62828"
NEUTRAL = "#1f5fa8"
RATING_COLOURS = {"tot": "#2e7d32", "kha": "#1f5fa8", "trung_binh": "#f9a825", "kem": "#c62828"}
# ---- print (the signed report, branch pdfcharts) ----
# A report is photocopied and faxed in black and white: its charts use shades of grey only, the meaning carried by
# the axis labels, direct value labels and the dashed threshold rule, never by red against green. The darker a
# shade, the worse (below the threshold, late, missing, Kém), so a faint copy still reads the right way round.
INK = "#000000"
GREYS = ("#d9d9d9", "#a6a6a6", "#6e6e6e", "#333333")  # light → dark
GREY = "#8c8c8c"  # one series: the bars of a single measure
# A serif close to Times New Roman (the document's font) with every Vietnamese letter. FreeSerif first: a Times
# design under a family name of its own. Liberation Serif 2 has the glyphs too, but where Debian's fonts-liberation
# 1.x is also installed (chromium pulls it in) vl-convert takes that older file, which lacks ư/ơ with tone marks, and
# the whole label falls back to DejaVu Serif; DejaVu Serif then is the last serif with the glyphs.
PRINT_FONT = "FreeSerif"
PRINT_FONTS = "FreeSerif, Liberation Serif, DejaVu Serif, serif"
# Month keys are "YYYY-MM"; shown to users as "MM/YYYY".
MONTH_LABEL = "substring(datum.value, 5, 7) + '/' + substring(datum.value, 0, 4)"
MONTH_CALC = "substring(datum.month, 5, 7) + '/' + substring(datum.month, 0, 4)"
# Counts are whole: ticks and legend labels at whole numbers only (never 1,2 weaknesses).
COUNT_FORMAT = ",d"


def count_axis(**kwargs) -> alt.Axis:
    """An axis for whole counts: whole-number ticks, thousands separated in the user's language."""
    return alt.Axis(tickMinStep=1, format=COUNT_FORMAT, **kwargs)


AGE_BUCKETS = ("0-30", "31-90", "91-180", "181+")
DURATION_BUCKETS = ("<60", "60-89", "90-119", "120+")


def number_locale() -> dict:
    """Vega's number format for the current language: Vietnamese writes 92,6% and 1.234."""
    if get_language() == "vi":
        return {"number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}}
    return {"number": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""]}}


# On a phone (a chart narrower than this many pixels) long axis labels would leave no room for the plot and a
# one-row legend would run off the edge: the browser then shortens the labels and stacks the legend.
NARROW = "containerSize()[0] < 520"


def _by_width(narrow: float, wide: float) -> alt.ExprRef:
    return alt.ExprRef(expr=f"{NARROW} ? {narrow} : {wide}")


def styled(chart: alt.TopLevelMixin, scale: float = 1.0, font: str | None = None,
           screen: bool = False) -> alt.TopLevelMixin:
    """Apply the large, readable fonts (scaled for presentation mode); font only for a PNG export; screen fits
    labels and legends to the browser's width (a phone included)."""
    size = round(BASE_FONT * scale)
    axis_limit, legend_limit, columns = int(260 * scale), int(320 * scale), None
    if screen:
        axis_limit, legend_limit = _by_width(int(120 * scale), axis_limit), _by_width(int(300 * scale), legend_limit)
        columns = _by_width(1, 0)  # 0: one row of entries
    # fit-x: stretch to the page width but keep the height for the plot itself, so a title or a
    # legend never squeezes the bars.
    return (
        chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
        .configure(locale=number_locale(), **({"font": font} if font else {}))
        .configure_axis(labelFontSize=size, titleFontSize=size + 1, labelLimit=axis_limit)
        .configure_legend(labelFontSize=size, titleFontSize=size, symbolSize=120 * scale, labelLimit=legend_limit,
                          **({"columns": columns} if columns is not None else {}))
        .configure_title(fontSize=size + 5, anchor="start")
        .configure_view(strokeWidth=0)
        .configure_text(fontSize=size)
    )


def _title(key: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(t(key), subtitle=subtitle or "")


def _pct(field: str, key: str) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", title=t(key), format=".1%")


def _height(rows: int, per_row: int = 30, minimum: int = 180) -> int:
    return max(minimum, rows * per_row)


def unit_labels(df: pd.DataFrame) -> pd.Series:
    """Unit names for a chart axis. Same-named units (a merged commune and its successor) already differ there:
    their names carry their validity (directory.display_names, applied by lib.ui.figure and reports.gather),
    never their internal codes."""
    return df["unit_name"]


def category_order() -> list[str]:
    """Weakness category labels, the five seed categories first, in their order."""
    return [c.label for c in WeaknessCategory]


def attendance_ranked_chart(df: pd.DataFrame, threshold: float, subtitle: str | None = None,
                            select: bool = False, grey: bool = False) -> alt.LayerChart:
    """Units ranked by attendance rate with the threshold as a rule (unit_name, rate, present, required).

    With select, a click on a bar selects its unit_code (selection "unit") for the drill-down; grey: for print.
    """
    data = df[df["rate"].notna()].assign(below=lambda d: d["rate"] < threshold)
    data = data.assign(unit_name=unit_labels(data)).sort_values("rate", ascending=False, kind="stable")
    base = alt.Chart(data)
    bars = base.mark_bar().encode(
        y=alt.Y("unit_name:N", sort=list(data["unit_name"]), title=None),
        x=alt.X("rate:Q", title=t("chart.attendance_rate"), axis=RATE_AXIS, scale=RATE_SCALE),
        color=alt.Color("below:N", legend=None, scale=alt.Scale(
            domain=[False, True], range=[GREYS[1], GREYS[3]] if grey else [NEUTRAL, BAD])),
        tooltip=[alt.Tooltip("unit_name:N", title=t("chart.unit")), _pct("rate", "chart.attendance_rate"),
                 alt.Tooltip("present:Q", title=t("chart.present"), format=","),
                 alt.Tooltip("required:Q", title=t("chart.required"), format=",")],
    )
    labels = bars.mark_text(align="left", dx=4).encode(text=alt.Text("rate:Q", format=".1%"), color=alt.value("#222"))
    if select:
        bars = bars.add_params(alt.selection_point(name="unit", fields=["unit_code"]))
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
        color=INK if grey else BAD, strokeDash=[6, 4], size=2).encode(
        x="threshold:Q", tooltip=[_pct("threshold", "chart.threshold")])
    return alt.layer(bars, labels, rule, title=_title("chart.attendance_ranked", subtitle)).properties(
        width=WIDTH, height=_height(len(data)))


def attendance_heatmap_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.LayerChart:
    """Unit × month heatmap of attendance rate (unit_name, month 'YYYY-MM', rate, meetings)."""
    df = df.assign(unit_name=unit_labels(df))
    base = alt.Chart(df).transform_calculate(month_label=MONTH_CALC).encode(
        x=alt.X("month:O", title=t("chart.month"), axis=alt.Axis(labelExpr=MONTH_LABEL, labelAngle=-45)),
        y=alt.Y("unit_name:N", title=t("chart.unit")),
    )
    cells = base.mark_rect().encode(
        # below the plot: on the right, a phone's narrow chart has no room for it
        color=alt.Color("rate:Q", title=t("chart.attendance_rate"), legend=alt.Legend(format="%", orient="bottom"),
                        scale=alt.Scale(scheme="redyellowgreen", domain=[0.5, 1], clamp=True)),
        tooltip=[alt.Tooltip("unit_name:N", title=t("chart.unit")),
                 alt.Tooltip("month_label:N", title=t("chart.month")),
                 _pct("rate", "chart.attendance_rate"),
                 alt.Tooltip("meetings:Q", title=t("chart.meetings"), format=",")],
    )
    return alt.layer(cells, title=_title("chart.attendance_heatmap", subtitle)).properties(
        width=WIDTH, height=_height(df["unit_name"].nunique() if len(df) else 0, 28))


def attendance_trend_chart(df: pd.DataFrame, threshold: float | None = None,
                           subtitle: str | None = None) -> alt.LayerChart:
    """Attendance rate month by month, one line per series (month 'YYYY-MM', series, rate)."""
    lines = alt.Chart(df).transform_calculate(month_label=MONTH_CALC).mark_line(point=True, strokeWidth=3).encode(
        x=alt.X("month:O", title=t("chart.month"), axis=alt.Axis(labelExpr=MONTH_LABEL, labelAngle=-45)),
        y=alt.Y("rate:Q", title=t("chart.attendance_rate"), axis=RATE_AXIS, scale=TREND_SCALE),
        # one line needs no legend: the title says what it is
        color=alt.Color("series:N", title=t("chart.series"),
                        legend=alt.Legend(orient="bottom") if df["series"].nunique() > 1 else None),
        tooltip=[alt.Tooltip("series:N", title=t("chart.series")),
                 alt.Tooltip("month_label:N", title=t("chart.month")), _pct("rate", "chart.attendance_rate")],
    )
    layers = [lines]
    if threshold is not None:
        layers.append(alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
            color=BAD, strokeDash=[6, 4], size=2).encode(
            y="threshold:Q", tooltip=[_pct("threshold", "chart.threshold")]))
    return alt.layer(*layers, title=_title("chart.attendance_trend", subtitle)).properties(width=WIDTH, height=360)


def monthly_rates_frame(by_month: list[dict]) -> pd.DataFrame:
    """Attendance rate and coverage per month as chart rows (month, measure, rate), months without a rate left out."""
    measures = {"rate": t("chart.attendance_rate"), "coverage": t("dash.h_coverage")}
    frame = pd.DataFrame(by_month, columns=["month", *measures]).rename(columns=measures).melt(
        id_vars=["month"], value_vars=list(measures.values()), var_name="measure", value_name="rate")
    return frame[frame["rate"].notna()].reset_index(drop=True)


def monthly_rates_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.LayerChart:
    """Attendance rate and coverage month by month, side by side on a 0–100% axis (month, measure, rate)."""
    names = [t("chart.attendance_rate"), t("dash.h_coverage")]
    bars = alt.Chart(df).transform_calculate(month_label=MONTH_CALC).mark_bar().encode(
        # MM/YYYY labels need no axis title: the room goes to the plot (the projector's first slide is full)
        x=alt.X("month:O", title=None, axis=alt.Axis(labelExpr=MONTH_LABEL, labelAngle=0)),
        xOffset=alt.XOffset("measure:N", sort=names),
        y=alt.Y("rate:Q", title=None, axis=RATE_AXIS, scale=TREND_SCALE),
        color=alt.Color("measure:N", title=None, sort=names, scale=alt.Scale(domain=names, range=[NEUTRAL, GOOD]),
                        legend=alt.Legend(orient="bottom", direction="vertical")),
        tooltip=[alt.Tooltip("month_label:N", title=t("chart.month")),
                 alt.Tooltip("measure:N", title=t("chart.measure")), _pct("rate", "chart.rate")],
    )
    layers = [bars]
    # a label on each bar while they are wide enough to carry one (a quarter; a year's 24 bars would crowd)
    if df["month"].nunique() <= 6:
        layers.append(bars.mark_text(dy=-10).encode(text=alt.Text("rate:Q", format=".1%"), color=alt.value("#222")))
    return alt.layer(*layers, title=_title("chart.monthly_rates", subtitle)).properties(width=WIDTH, height=300)


def absences_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """Absences with and without reason by unit, stacked (unit_name, absent_excused, absent_unexcused)."""
    kinds = {"absent_excused": t("chart.absent_excused"), "absent_unexcused": t("chart.absent_unexcused")}
    df = df.assign(unit_name=unit_labels(df))
    data = df.melt(id_vars=["unit_name"], value_vars=list(kinds), var_name="kind", value_name="count")
    data["kind"] = data["kind"].map(kinds)
    return alt.Chart(data, title=_title("chart.absences", subtitle)).mark_bar().encode(
        y=alt.Y("unit_name:N", title=None, sort="-x"),
        x=alt.X("sum(count):Q", title=t("chart.absences_count"), axis=count_axis()),
        color=alt.Color("kind:N", title=t("chart.kind"), sort=list(kinds.values()),
                        scale=alt.Scale(domain=list(kinds.values()), range=["#90a4ae", BAD]),
                        legend=alt.Legend(orient="bottom")),
        order=alt.Order("kind:N"),
        tooltip=[alt.Tooltip("unit_name:N", title=t("chart.unit")), alt.Tooltip("kind:N", title=t("chart.kind")),
                 alt.Tooltip("count:Q", title=t("chart.count"), format=",")],
    ).properties(width=WIDTH, height=_height(df["unit_name"].nunique() if len(df) else 0))


def leader_attendance_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """Expected against attended meetings for each leader (full_name, expected, attended, compliance)."""
    measures = {"expected": t("chart.expected"), "attended": t("chart.attended")}
    data = df.melt(id_vars=["full_name", "compliance"], value_vars=list(measures), var_name="measure",
                   value_name="count")
    data["measure"] = data["measure"].map(measures)
    return alt.Chart(data, title=_title("chart.leader_attendance", subtitle)).mark_bar().encode(
        y=alt.Y("full_name:N", title=None, sort=alt.EncodingSortField("compliance", order="ascending")),
        yOffset=alt.YOffset("measure:N", sort=list(measures.values())),
        x=alt.X("count:Q", title=t("chart.meetings_count"), axis=count_axis()),
        color=alt.Color("measure:N", title=t("chart.measure"), sort=list(measures.values()),
                        scale=alt.Scale(domain=list(measures.values()), range=["#b0bec5", NEUTRAL]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("full_name:N", title=t("chart.leader")),
                 alt.Tooltip("measure:N", title=t("chart.measure")),
                 alt.Tooltip("count:Q", title=t("chart.count"), format=",.2f"),
                 _pct("compliance", "chart.compliance")],
    ).properties(width=WIDTH, height=_height(df["full_name"].nunique() if len(df) else 0, 34))


def group_compliance_chart(df: pd.DataFrame, subtitle: str | None = None,
                           labels: dict[str, str] | None = None, grey: bool = False) -> alt.LayerChart:
    """Compliance by leader group, groups in their order (grp, compliance, expected, attended; labels: code → label
    in the groups' order, by default the shipped five; grey: for print)."""
    labels = labels or LeaderGroup.labels()
    data = df.assign(group=df["grp"].map(labels))
    order = [labels[g] for g in labels if g in set(df["grp"])]
    bars = alt.Chart(data).mark_bar(color=GREY if grey else NEUTRAL).encode(
        y=alt.Y("group:N", title=None, sort=order),
        x=alt.X("compliance:Q", title=t("chart.compliance"), axis=RATE_AXIS, scale=RATE_SCALE),
        tooltip=[alt.Tooltip("group:N", title=t("chart.group")), _pct("compliance", "chart.compliance"),
                 alt.Tooltip("expected:Q", title=t("chart.expected"), format=",.2f"),
                 alt.Tooltip("attended:Q", title=t("chart.attended"), format=",")],
    )
    text = bars.mark_text(align="left", dx=4).encode(text=alt.Text("compliance:Q", format=".0%"),
                                                      color=alt.value("#222"))
    return alt.layer(bars, text, title=_title("chart.group_compliance", subtitle)).properties(
        width=WIDTH, height=_height(len(data), 44))


def reports_chart(df: pd.DataFrame, subtitle: str | None = None, labels: dict[str, str] | None = None,
                  grey: bool = False) -> alt.Chart | alt.LayerChart:
    """Written reports on time, late and missing by leader group (grp, reports, late_reports, missing_reports);
    grey: for print, light → dark shades with each part's count written on it."""
    kinds = {"on_time": t("chart.reports_on_time"), "late": t("chart.reports_late"),
             "missing": t("chart.reports_missing")}
    labels = labels or LeaderGroup.labels()
    data = df.assign(group=df["grp"].map(labels), on_time=df["reports"] - df["late_reports"],
                     late=df["late_reports"], missing=df["missing_reports"])
    data = data.melt(id_vars=["group"], value_vars=list(kinds), var_name="kind", value_name="count")
    data["kind"] = data["kind"].map(kinds)
    data["rank"] = data["kind"].map({v: i for i, v in enumerate(kinds.values())})
    order = [labels[g] for g in labels if g in set(df["grp"])]
    shades = [GREYS[0], GREYS[2], INK] if grey else [GOOD, "#f9a825", BAD]
    bars = alt.Chart(data, title=_title("chart.reports", subtitle)).mark_bar(
        **({"stroke": INK, "strokeWidth": 0.5} if grey else {})).encode(
        y=alt.Y("group:N", title=None, sort=order),
        x=alt.X("count:Q", title=t("chart.reports_count"), stack="zero", axis=count_axis()),
        color=alt.Color("kind:N", title=t("chart.kind"), sort=list(kinds.values()),
                        scale=alt.Scale(domain=list(kinds.values()), range=shades),
                        legend=alt.Legend(orient="bottom")),
        order=alt.Order("rank:Q"),
        tooltip=[alt.Tooltip("group:N", title=t("chart.group")), alt.Tooltip("kind:N", title=t("chart.kind")),
                 alt.Tooltip("count:Q", title=t("chart.count"), format=",")],
    ).properties(width=WIDTH, height=_height(len(order), 44))
    if not grey:
        return bars
    # Print: each part's count written in its middle, white on the dark parts, so no shade has to be told apart.
    counts = alt.Chart(data).transform_filter("datum.count > 0").transform_stack(
        stack="count", groupby=["group"], sort=[alt.SortField("rank")], as_=["start", "end"]).transform_calculate(
        middle="(datum.start + datum.end) / 2").mark_text(fontWeight="bold").encode(
        y=alt.Y("group:N", title=None, sort=order), x=alt.X("middle:Q"),
        text=alt.Text("count:Q", format=COUNT_FORMAT),
        color=alt.condition("datum.rank > 0", alt.value("#ffffff"), alt.value(INK)))
    return alt.layer(bars, counts).properties(width=WIDTH, height=_height(len(order), 44))


# Up to this many units across, the weakness matrix writes its count in each square and every unit's name under it
# (see weakness_matrix_chart).
MATRIX_LABELLED_UNITS = 40


def weakness_matrix_chart(df: pd.DataFrame, subtitle: str | None = None,
                          title: str = "chart.weakness_matrix") -> alt.LayerChart:
    """Weakness counts by category × unit, the five seed categories first (category, unit_name, n); title: the
    locale key of the title (the cells of a commune are named so, branch cellrows)."""
    labels = WeaknessCategory.labels()
    data = df.assign(category_label=df["category"].map(labels), unit_name=unit_labels(df))
    order = [labels[c] for c in labels if c in set(df["category"])]
    # A count in each square and every unit's name under its column only where there is room for them: across a
    # province's ~124 communes the squares are a few pixels wide, the numbers ran into each other and the names
    # into one grey band; there the colour, its legend and the tooltip say the count, and the axis names the
    # units it has room for (Vega leaves out a name that would overlap the one before it).
    roomy = data["unit_name"].nunique() <= MATRIX_LABELLED_UNITS
    base = alt.Chart(data).encode(
        x=alt.X("unit_name:N", title=None, axis=alt.Axis(labelAngle=-40, labelOverlap=False if roomy else "greedy")),
        y=alt.Y("category_label:N", title=None, sort=order, axis=alt.Axis(labelLimit=460)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("n:Q", title=t("chart.count"), scale=alt.Scale(scheme="orangered"),
                        legend=alt.Legend(format=COUNT_FORMAT, tickMinStep=1)),
        tooltip=[alt.Tooltip("category_label:N", title=t("chart.category")),
                 alt.Tooltip("unit_name:N", title=t("chart.unit")),
                 alt.Tooltip("n:Q", title=t("chart.count"), format=",")],
    )
    layers: list[alt.Chart] = [cells]
    if roomy:
        layers.append(base.mark_text().encode(text=alt.Text("n:Q", format=","), color=alt.value("#111")))
    return alt.layer(*layers, title=_title(title, subtitle)).properties(
        width=WIDTH, height=_height(len(order), 40))


def weakness_trend_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """Weaknesses noted and resolved each month, and those open at its end (month, noted, resolved, open_at_end)."""
    measures = {"noted": t("chart.weak_opened"), "resolved": t("chart.weak_resolved"),
                "open_at_end": t("chart.weak_open")}
    present = [m for m in measures if m in df.columns]
    data = df.melt(id_vars=["month"], value_vars=present, var_name="measure", value_name="count")
    data["measure"] = data["measure"].map(measures)
    names = [measures[m] for m in present]
    return alt.Chart(data, title=_title("chart.weakness_trend", subtitle)).transform_calculate(
        month_label=MONTH_CALC).mark_line(point=True, strokeWidth=3).encode(
        x=alt.X("month:O", title=t("chart.month"), axis=alt.Axis(labelExpr=MONTH_LABEL, labelAngle=-45)),
        y=alt.Y("count:Q", title=t("chart.count"), axis=count_axis()),
        color=alt.Color("measure:N", title=t("chart.measure"), sort=names,
                        scale=alt.Scale(domain=names, range=[BAD, GOOD, "#f9a825"][:len(names)]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("month_label:N", title=t("chart.month")),
                 alt.Tooltip("measure:N", title=t("chart.measure")),
                 alt.Tooltip("count:Q", title=t("chart.count"), format=",")],
    ).properties(width=WIDTH, height=340)


def weakness_ageing_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """Open weaknesses by age in days, youngest first (bucket in AGE_BUCKETS, count)."""
    names = {b: t(f"chart.age_{i}") for i, b in enumerate(AGE_BUCKETS)}
    data = df.assign(age=df["bucket"].map(names))
    return alt.Chart(data, title=_title("chart.weakness_ageing", subtitle)).mark_bar().encode(
        x=alt.X("age:N", title=t("chart.age"), sort=list(names.values()), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("count:Q", title=t("chart.count"), axis=count_axis()),
        color=alt.Color("age:N", sort=list(names.values()), legend=None,
                        scale=alt.Scale(domain=list(names.values()), range=["#ffcc80", "#ffa726", "#f4511e", BAD])),
        tooltip=[alt.Tooltip("age:N", title=t("chart.age")), alt.Tooltip("count:Q", title=t("chart.count"))],
    ).properties(width=WIDTH, height=320)


def rating_frame(distribution: dict[str, int]) -> pd.DataFrame:
    """A rating distribution {rating: count} as rows Tốt → Kém with each one's share of the rated meetings."""
    counts = [int(distribution.get(r.value, 0)) for r in Rating]
    rated = sum(counts)
    return pd.DataFrame({"rating": [r.value for r in Rating], "count": counts,
                         "share": [c / rated if rated else None for c in counts]})


def trend_frame(total: list[dict], by_unit: list[dict], total_label: str, max_units: int = 6) -> pd.DataFrame:
    """Monthly rates as chart series: the total, plus one line per unit when there are few enough units."""
    frame = pd.DataFrame(total, columns=["month", "rate"]).assign(series=total_label)
    units = pd.DataFrame(by_unit, columns=["month", "rate", "unit_name"])
    if 1 < units["unit_name"].nunique() <= max_units:
        frame = pd.concat([frame, units.rename(columns={"unit_name": "series"})], ignore_index=True)
    return frame[frame["rate"].notna()]


def rating_chart(df: pd.DataFrame, subtitle: str | None = None, grey: bool = False) -> alt.LayerChart:
    """Meetings by rating, Tốt → Kém (rating, count, share); grey: for print, light → dark."""
    labels = Rating.labels()
    data = df.assign(rating_label=df["rating"].map(labels))
    order = list(labels.values())
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("rating_label:N", title=t("chart.rating"), sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("count:Q", title=t("chart.meetings_count"), axis=count_axis()),
        color=alt.Color("rating_label:N", sort=order, legend=None,
                        scale=alt.Scale(domain=order,
                                        range=list(GREYS) if grey else [RATING_COLOURS[r] for r in labels])),
        tooltip=[alt.Tooltip("rating_label:N", title=t("chart.rating")),
                 alt.Tooltip("count:Q", title=t("chart.meetings_count"), format=","),
                 _pct("share", "chart.share")],
    )
    text = bars.mark_text(dy=-10).encode(text=alt.Text("share:Q", format=".1%"), color=alt.value("#222"))
    return alt.layer(bars, text, title=_title("chart.rating_distribution", subtitle)).properties(
        width=WIDTH, height=340)


def properties_chart(df: pd.DataFrame, subtitle: str | None = None, grey: bool = False) -> alt.LayerChart:
    """Share of meetings showing each of the three properties (property, count, share); grey: for print."""
    names = {p: t(f"field.{p}") for p in ("leadership", "education", "combativeness")}
    data = df.assign(property_label=df["property"].map(names))
    order = list(names.values())
    bars = alt.Chart(data).mark_bar(color=GREY if grey else NEUTRAL).encode(
        x=alt.X("share:Q", title=t("chart.share_meetings"), axis=RATE_AXIS, scale=RATE_SCALE),
        y=alt.Y("property_label:N", title=None, sort=order),
        tooltip=[alt.Tooltip("property_label:N", title=t("chart.property")),
                 alt.Tooltip("count:Q", title=t("chart.meetings_count"), format=","), _pct("share", "chart.share")],
    )
    text = bars.mark_text(align="left", dx=4).encode(text=alt.Text("share:Q", format=".1%"), color=alt.value("#222"))
    return alt.layer(bars, text, title=_title("chart.three_properties", subtitle)).properties(
        width=WIDTH, height=200)


def duration_chart(df: pd.DataFrame, subtitle: str | None = None) -> alt.Chart:
    """Meetings by duration band, bands under the minimum in red (bucket in DURATION_BUCKETS, count, short)."""
    names = {b: t(f"chart.duration_{i}") for i, b in enumerate(DURATION_BUCKETS)}
    data = df.assign(band=df["bucket"].map(names))
    order = list(names.values())
    return alt.Chart(data, title=_title("chart.durations", subtitle)).mark_bar().encode(
        x=alt.X("band:N", title=t("chart.duration"), sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("count:Q", title=t("chart.meetings_count"), axis=count_axis()),
        color=alt.Color("short:N", scale=alt.Scale(domain=[True, False], range=[BAD, GOOD]), legend=None),
        tooltip=[alt.Tooltip("band:N", title=t("chart.duration")),
                 alt.Tooltip("count:Q", title=t("chart.meetings_count"), format=",")],
    ).properties(width=WIDTH, height=320)
