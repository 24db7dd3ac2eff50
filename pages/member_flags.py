"""Members the rules flag (Statute Art. 8, Hướng dẫn 12-HD) and member attendance, each flag opening its meetings."""

from datetime import date

import pandas as pd
import streamlit as st

from lib import metrics, ui
from lib.i18n import t
from lib.nav import allowed

who = ui.require_page("pages/member_flags.py")
st.title(t("rules.nav"))
# The committee reviews the year so far: the first visit of a session opens on this year in place of the
# dashboards' default (the last complete quarter); a period the user or a link chose is kept. The other
# dashboards then follow it, as they follow any period chosen here.
if not st.session_state.get("mf_opened"):
    st.session_state["mf_opened"] = True
    asked = st.query_params.get(ui.DASH_URL["period"])
    if asked is None or asked == metrics.last_complete("quarter", date.today()).label:
        st.query_params[ui.DASH_URL["period"]] = str(date.today().year)
period, filters = ui.dashboard_filters()

# The records page (administrators and clerks) lists the meetings a link names; a viewer reads their numbers.
RECORDS = "ho-so"
MAX_LINKED = 100
FLAG_COLUMNS = {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"), "member_code": t("rules.col_code"),
                "full_name": t("rules.col_name"), "count": None, "meetings": t("rules.col_meetings")}
MEMBER_COLUMNS = {"full_name": t("rules.col_name"), "member_code": t("rules.col_code"),
                  "unit_name": t("chart.unit"), "cell_name": t("field.cell_id"), "present": t("chart.present"),
                  "excused": t("chart.absent_excused"), "unexcused": t("chart.absent_unexcused"),
                  "exempt": t("rules.col_exempt"), "rate": t("chart.attendance_rate")}
UNIT_COLUMNS = {"unit_name": t("chart.unit"), "present": t("chart.present"),
                "excused": t("chart.absent_excused"), "unexcused": t("chart.absent_unexcused"),
                "exempt": t("rules.col_exempt"), "required": t("chart.required"), "rate": t("chart.attendance_rate")}


def flag_table(rule: str, block: dict) -> None:
    """One rule's flags: its threshold and document, then a row per member with the meetings behind the flag."""
    st.subheader(t(f"rules.{rule}_title"), divider="gray")
    if block["threshold"] is None:
        st.caption(t("rules.no_threshold"))
        return
    st.caption(t(f"rules.{rule}_help", n=block["threshold"]))
    st.caption(t("rules.document", document=block["document"], day=ui.fmt_date(block["valid_from"])))
    flags = block["flags"]
    if not flags:
        st.success(t("rules.none_flagged"), icon=":material/check_circle:")
        return
    columns = {**FLAG_COLUMNS, "count": t(f"rules.{rule}_count")}
    rows = [{**f, "meetings": ", ".join(f"#{i}" for i in f["meeting_ids"])} for f in flags]
    frame = pd.DataFrame(rows, columns=list(columns)).rename(columns=columns)
    config = {}
    if allowed(who.role, "pages/records.py"):
        link = t("rules.col_open")
        frame[link] = [f"{RECORDS}?ids={','.join(str(i) for i in f['meeting_ids'][:MAX_LINKED])}" for f in flags]
        config[link] = st.column_config.LinkColumn(link, display_text=t("rules.open_meetings"), width="small")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config, key=f"mf_{rule}")
    ui.downloads(frame, f"dang-vien-{rule}-{period.label}", f"mf_{rule}_dl")


def render() -> None:
    st.caption(ui.period_label(period))
    figures = ui.figure("member_flags", who, period, filters)
    attendance = ui.figure("member_attendance", who, period, filters)
    totals = attendance["totals"]
    cols = st.columns(4)
    cols[0].metric(t("rules.art8_short"), ui.fmt_num(len(figures["art8"]["flags"])), border=True)
    cols[1].metric(t("rules.hd12_short"), ui.fmt_num(len(figures["hd12"]["flags"])), border=True)
    cols[2].metric(t("rules.member_rate"), ui.fmt_pct(totals["rate"]), border=True, help=t("rules.member_rate_help"))
    cols[3].metric(t("chart.absent_unexcused"), ui.fmt_num(totals["unexcused"]), border=True)
    for rule in ("art8", "hd12"):
        flag_table(rule, figures[rule])

    st.subheader(t("rules.attendance_title"), divider="gray")
    st.caption(t("rules.attendance_help"))
    if not attendance["by_unit"]:
        ui.no_data()
        return
    ui.table(attendance["by_unit"], UNIT_COLUMNS, f"du-hop-dang-vien-{period.label}", "mf_units", pct=("rate",),
             pinned=("unit_name",))
    st.markdown(f"**{t('rules.most_absent', n=len(attendance['members']))}**")
    ui.table(attendance["members"], MEMBER_COLUMNS, f"dang-vien-vang-nhieu-{period.label}", "mf_members",
             pct=("rate",), pinned=("full_name",))


ui.live(render)
