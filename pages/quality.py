"""Meeting quality: rating distribution, the three properties, meetings under the minimum duration."""

import pandas as pd
import streamlit as st

from lib import charts, metrics, ui
from lib.domain import MeetingType, Rating
from lib.i18n import t

ui.require_page("pages/quality.py")
st.title(t("nav.quality"))
period, filters = ui.dashboard_filters()

# Short headers (the full names in their tooltips) and set widths: all thirteen columns fit at 1440 px, the
# last one ("under the minimum") no longer cut off.
UNIT_COLUMNS = {"unit_code": t("field.unit_code"), "unit_name": t("chart.unit"), "meetings": t("ux.q.meetings"),
                "tot": t("enum.Rating.tot"), "kha": t("enum.Rating.kha"), "trung_binh": t("enum.Rating.trung_binh"),
                "kem": t("enum.Rating.kem"), "unrated": t("dash.unrated"), "leadership": t("ux.q.leadership"),
                "education": t("ux.q.education"), "combativeness": t("ux.q.combativeness"),
                "with_duration": t("ux.q.with_duration"), "short": t("ux.q.short")}
UNIT_HELPS = {"meetings": t("chart.meetings"), "leadership": t("field.leadership"),
              "education": t("field.education"), "combativeness": t("field.combativeness"),
              "with_duration": t("dash.with_duration"), "short": t("dash.short")}
UNIT_WIDTHS = {"unit_code": 85, "unit_name": 140, "meetings": 70, "tot": 50, "kha": 50, "trung_binh": 80, "kem": 50,
               "unrated": 95, "leadership": 80, "education": 80, "combativeness": 80, "with_duration": 95,
               "short": 100}
SHORT_COLUMNS = {"id": t("field.id"), "held_on": t("field.held_on"), "mtype": t("field.mtype"),
                 "unit_name": t("chart.unit"), "cell_name": t("field.cell_id"),
                 "duration_minutes": t("field.duration_minutes")}


def render() -> None:
    st.caption(ui.period_label(period))
    figures = ui.figure("quality_page", period, filters)
    ratings = figures["rating_distribution"]
    meetings = sum(ratings.values())
    if not meetings:
        ui.no_data()
        return
    props, short = figures["properties"], figures["short_meetings"]
    rated = charts.rating_frame(ratings)
    cols = st.columns(4)
    cols[0].metric(t("chart.meetings"), ui.fmt_num(meetings), border=True)
    cols[1].metric(t("dash.q_good"), ui.fmt_pct(rated["share"].iloc[0] if meetings - ratings["unrated"] else None),
                   border=True, help=t("dash.q_good_help"))
    cols[2].metric(t("dash.unrated"), ui.fmt_num(ratings["unrated"]), border=True)
    cols[3].metric(t("dash.q_short", minutes=short["min_duration"]), ui.fmt_num(short["short"]),
                   t("dash.share_of_timed", share=ui.fmt_pct(short["share"])), delta_color="off",
                   delta_arrow="off", border=True)

    bands = figures["duration_bands"]
    # one chart at a time: only the open tab is drawn (ui.lazy_tabs)
    ui.lazy_tabs({
        t("chart.rating"): lambda: ui.show_chart(ui.chart(charts.rating_chart, rated), "xep-loai", "q_ratings"),
        t("speed.tab_properties"): lambda: ui.show_chart(ui.chart(charts.properties_chart, pd.DataFrame(props)),
                                                         "ba-tinh-chat", "q_properties"),
        t("chart.duration"): lambda: ui.show_chart(ui.chart(charts.duration_chart, pd.DataFrame(bands)),
                                                   "thoi-gian-sinh-hoat", "q_durations")}, "q_charts")

    view = ui.node_in_view()
    if view is not None and view.code is not None and not view.children:
        # a node with only cells: the cells are its rows
        st.subheader(t("drill.by_cell"), divider="gray")
        columns = {"cell_code": t("field.cell_code"), "cell_name": t("field.cell_id"),
                   **{k: v for k, v in UNIT_COLUMNS.items() if k not in ("unit_code", "unit_name")}}
        ui.table(ui.figure("quality_by_cell", period, filters), columns, f"chat-luong-chi-bo-{view.code}", "q_cells",
                 pinned=("cell_name",), widths={k: v for k, v in UNIT_WIDTHS.items() if k in columns},
                 helps=UNIT_HELPS)
        more_lists(short)
        return
    st.subheader(t("dash.by_unit"), divider="gray")
    every_unit = figures["quality_by_unit"]
    units = ui.top_bottom(every_unit, "q_units", "meetings", t("ux.q.meetings").lower())
    if ui.drillable():
        st.caption(t("drill.row_help"))
    ui.table(units, UNIT_COLUMNS, "chat-luong-theo-don-vi", "q_units", hidden=ui.codes_hidden(every_unit),
             pinned=("unit_name",), widths=UNIT_WIDTHS, helps=UNIT_HELPS,
             drill="unit_code" if ui.drillable() else None)
    more_lists(short)


def more_lists(short: dict) -> None:
    """The short meetings, the year's classification of cells and the checklist's ratings, one at a time: only
    the open tab is drawn (ui.lazy_tabs); the last two only where they have something to show."""
    title = t("dash.short_list", minutes=short["min_duration"], n=ui.fmt_num(short["short"]))
    parts = {title: lambda: short_list(short)}
    classes = ui.figure("classification_distribution", period, filters)
    classified = metrics.classification_totals(classes)
    if period.kind == "year" or classified["decided"] or classified["proposed"]:
        parts[t("class.dist.title", year=period.start.year)] = lambda: classification_section(classes)
    checklist = ui.figure("checklist_ratings", period, filters)
    if checklist["meetings"]:
        parts[t("checklist.dash.title")] = lambda: checklist_figures(checklist)
    st.subheader(t("speed.q_lists"), divider="gray")
    ui.lazy_tabs(parts, "q_lists")


def short_list(short: dict) -> None:
    ui.table(short["meetings"], SHORT_COLUMNS, "duoi-thoi-gian", "q_short", dates=("held_on",),
             labels={"mtype": ui.label_of(MeetingType)}, height=320)


def checklist_figures(figures: dict) -> None:
    """The 12-HD / 42-HD checklist: meetings rated otherwise than proposed, and proposed × final ratings."""
    cols = st.columns(4)
    cols[0].metric(t("checklist.dash.meetings"), ui.fmt_num(figures["meetings"]), border=True)
    cols[1].metric(t("checklist.dash.differs"), ui.fmt_num(figures["differs"]),
                   t("checklist.dash.share", share=ui.fmt_pct(figures["share"])), delta_color="off",
                   delta_arrow="off", border=True, help=t("checklist.dash.differs_help"))
    st.caption(t("checklist.dash.caption"))
    columns = {"proposed": t("checklist.dash.proposed"), **Rating.labels(), "unrated": t("dash.unrated"),
               "meetings": t("ux.q.meetings")}
    rows = [{**r, "proposed": Rating(r["proposed"]).label if r["proposed"] else t("checklist.dash.no_proposal")}
            for r in figures["crosstab"]]
    ui.table(rows, columns, "xep-loai-de-xuat", "q_checklist", pinned=("proposed",))


# The year's classification of cells per unit (lib/classification.py): decided levels, and the proposals not yet
# decided apart; shown for a year, or for a shorter period of a year that has classifications.
CLASS_COLUMNS = {"unit_name": t("chart.unit"), "cells": t("class.dist.cells"),
                 **{f"decided_{lv}": t(f"class.dist.d_{lv}") for lv in metrics.CLASS_LEVELS},
                 **{f"proposed_{lv}": t(f"class.dist.p_{lv}") for lv in metrics.CLASS_LEVELS},
                 "unclassified": t("class.dist.unclassified")}
# short headers, the level's full name in their tooltips
CLASS_HELPS = {f"{kind}_{lv}": t(f"class.dist.{kind[0]}_help", level=t(f"class.level.{lv}"))
               for kind in ("decided", "proposed") for lv in metrics.CLASS_LEVELS}
CLASS_WIDTHS = {"unit_name": 140, "cells": 80, **{f"decided_{lv}": 70 for lv in metrics.CLASS_LEVELS},
                **{f"proposed_{lv}": 105 for lv in metrics.CLASS_LEVELS}, "unclassified": 105}


def classification_section(rows: list[dict]) -> None:
    st.caption(t("class.dist.caption"))
    ui.table(rows, CLASS_COLUMNS, f"xep-loai-chi-bo-{period.start.year}", "q_classes", pinned=("unit_name",),
             widths=CLASS_WIDTHS, helps=CLASS_HELPS)


ui.live(render)
