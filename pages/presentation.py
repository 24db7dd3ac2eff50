"""Presentation mode for the meeting room: full width, large fonts, no sidebar, cycling through the dashboards."""

import time

import pandas as pd
import streamlit as st

from lib import charts, leaders, settings, ui
from lib.i18n import t

ui.require_page("pages/presentation.py")
period, filters = ui.dashboard_filters(show=False)
ui.presentation_style()
SCALE = 1.6
# Plot heights that fill a projector screen (900 pixels high and up) below the slide's title: one chart, or two
# side by side with their legends underneath.
HEIGHT = 470
PAIR_HEIGHT = 400
# under the two rows of headline cards, the months' chart takes the rest of a 1080-pixel screen
OVERVIEW_HEIGHT = 180


def figures(page: str) -> dict:
    # The dashboards' own bundles: one cached computation serves both the dashboard and its slides.
    return ui.figure(page, period, filters)


def overview_slide() -> bool:
    ov = figures("overview_page")["overview"]
    if not ov["current"]["meetings"]:
        return False
    ui.headline_metrics(ov, columns=4)
    months = charts.monthly_rates_frame(figures("attendance_page")["attendance_by_month"])
    if len(months):
        ui.show_chart(ui.chart(charts.monthly_rates_chart, months), "ty-le-theo-thang", "pres_months", scale=SCALE,
                      download=False, height=OVERVIEW_HEIGHT)
    return True


def attendance_slide() -> bool:
    units = figures("attendance_page")["attendance_by_unit"]
    if not any(u["meetings"] for u in units):
        return False
    threshold = ui.read(settings.thresholds).attendance
    ui.show_chart(ui.chart(charts.attendance_ranked_chart, pd.DataFrame(units), threshold), "ty-le-du-hop",
                  "pres_ranked", scale=SCALE, download=False, height=HEIGHT)
    return True


def heatmap_slide() -> bool:
    rows = figures("attendance_page")["attendance_by_unit_month"]
    if not any(r["meetings"] for r in rows):
        return False
    # the slide's heading already is the chart's title
    ui.show_chart(ui.chart(charts.attendance_heatmap_chart, pd.DataFrame(rows)).properties(title=""),
                  "ty-le-theo-thang", "pres_heatmap", scale=SCALE, download=False, height=HEIGHT)
    return True


def pair(left: tuple | None, right: tuple | None) -> None:
    """Two slide charts side by side, each (chart, name, key) or None for an empty half."""
    for item, column in zip((left, right), st.columns(2), strict=True):
        if item is not None:
            with column:
                ui.show_chart(*item, scale=SCALE, download=False, height=PAIR_HEIGHT)


def leaders_slide() -> bool:
    groups = figures("leaders_page")["participation_by_group"]
    if not groups:
        return False
    group_labels = ui.read(leaders.group_labels)  # groups are data: a new group shows its name, not its code
    pair((ui.chart(charts.group_compliance_chart, pd.DataFrame(groups), labels=group_labels), "nhom", "pres_groups"),
         (ui.chart(charts.reports_chart, pd.DataFrame(groups), labels=group_labels), "bao-cao", "pres_reports"))
    return True


def weakness_slide() -> bool:
    matrix = figures("weakness_page")["weakness_matrix"]
    if not matrix:
        return False
    ui.show_chart(ui.chart(charts.weakness_matrix_chart, pd.DataFrame(matrix)), "han-che", "pres_matrix", scale=SCALE,
                  download=False, height=HEIGHT)
    return True


def weakness_time_slide() -> bool:
    weak = figures("weakness_page")
    trend, ageing = weak["weakness_trend"], weak["weakness_ageing"]
    if not trend and not any(a["count"] for a in ageing):
        return False
    pair((ui.chart(charts.weakness_trend_chart, pd.DataFrame(trend)), "han-che-thang", "pres_wtrend")
         if trend else None,
         (ui.chart(charts.weakness_ageing_chart, pd.DataFrame(ageing)), "ton-dong", "pres_ageing"))
    return True


def quality_slide() -> bool:
    quality = figures("quality_page")
    ratings = quality["rating_distribution"]
    if not sum(ratings.values()):
        return False
    pair((ui.chart(charts.rating_chart, charts.rating_frame(ratings)), "xep-loai", "pres_ratings"),
         (ui.chart(charts.properties_chart, pd.DataFrame(quality["properties"])), "ba-tinh-chat", "pres_props"))
    return True


SLIDES = (("nav.overview", overview_slide), ("nav.attendance", attendance_slide),
          ("chart.attendance_heatmap", heatmap_slide), ("nav.leaders", leaders_slide),
          ("nav.weakness_board", weakness_slide), ("dash.p_weak_time", weakness_time_slide),
          ("nav.quality", quality_slide))

st.session_state.setdefault("pres_index", 0)


def restart_clock() -> None:
    st.session_state["pres_started_at"] = time.monotonic()


def step(delta: int) -> None:
    st.session_state["pres_index"] = (st.session_state["pres_index"] + delta) % len(SLIDES)
    restart_clock()


bar = st.columns([3, 1.2, 1.2, 2.3, 1.5, 2], vertical_alignment="bottom")
bar[0].caption(t("dash.p_help"))
bar[1].button(t("dash.p_prev"), key="pres_prev", icon=":material/skip_previous:", on_click=step, args=(-1,),
              width="stretch")
bar[2].button(t("dash.p_next"), key="pres_next", icon=":material/skip_next:", on_click=step, args=(1,),
              width="stretch")
paused = bar[3].toggle(t("dash.p_pause"), key="pres_paused", on_change=restart_clock)
seconds = bar[4].number_input(t("dash.p_seconds"), min_value=5, max_value=600, step=5, key="pres_seconds",
                              value=ui.refresh_seconds(), on_change=restart_clock)
bar[5].page_link("pages/overview.py", label=t("dash.p_exit"), icon=":material/close_fullscreen:")


@st.fragment(run_every=None if paused else seconds)
def slide() -> None:
    # Only the clock moves the slides on: a rerun of the page (after it loads, a filter, the URL) redraws the
    # slide shown. A slide last drawn long ago (the page left and opened again) starts its time afresh.
    now = time.monotonic()
    started = st.session_state.get("pres_started_at")
    if started is None or now - st.session_state.get("pres_drawn_at", now) > 2 * seconds + 5:
        started = st.session_state["pres_started_at"] = now
    # a second's slack: the timer's tick may come a little before the server's clock says the time is up
    if not paused and now - started >= seconds - 1:
        st.session_state["pres_index"] = (st.session_state["pres_index"] + 1) % len(SLIDES)
        st.session_state["pres_started_at"] = now
    st.session_state["pres_drawn_at"] = now
    index = st.session_state["pres_index"]
    key, draw = SLIDES[index]
    st.header(t(key))
    st.caption(t("dash.p_status", period=ui.period_label(period), index=index + 1, total=len(SLIDES),
                 time=ui.now_hms()))
    if not draw():
        ui.no_data()


slide()
