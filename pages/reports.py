"""Reports (admin, viewer): the compiled report or data workbook of a period, and a leader's written report."""

from datetime import date

import streamlit as st

from lib import metrics, org, pdf, reports, ui
from lib.i18n import t

ui.require_page("pages/reports.py")
st.title(t("nav.reports"))
st.caption(t("page.reports.intro"))

today = date.today()
# Opens on the last complete quarter (and month): a period in progress would report its months not yet due as gaps.
opening, last_month = metrics.last_complete("quarter", today), metrics.last_complete("month", today)
years = sorted({*ui.read(metrics.data_years), opening.start.year}, reverse=True)
c1, c2, c3 = st.columns(3)
kind = c1.radio(t("page.reports.kind"), ("quarter", "month", "year"), format_func=lambda k: t(f"page.reports.kind_{k}"),
                horizontal=True, key="reports_kind")
year = c2.selectbox(t("page.reports.year"), years, index=years.index(opening.start.year), key="reports_year")
if kind == "quarter":
    quarter = c3.selectbox(t("page.reports.quarter"), (1, 2, 3, 4), index=(opening.start.month - 1) // 3,
                           format_func=lambda q: t("page.reports.quarter_label", roman=reports.ROMAN[q - 1]),
                           key="reports_quarter")
    label = f"{year}-Q{quarter}"
elif kind == "month":
    month = c3.selectbox(t("page.reports.month"), list(range(1, 13)),
                         index=last_month.start.month - 1 if last_month.start.year == opening.start.year else 11,
                         format_func=lambda m: t("page.reports.month_label", month=m), key="reports_month")
    label = f"{year}-{month:02d}"
else:
    label = str(year)

who = ui.actor()
# The units under the user's opening node in tree order, indented by level: its children are the report's rows.
_report_units = ui.read(org.report_units, who)
_shown = ui.unit_names(_report_units)
units = {u["code"]: "\u2003" * (u["depth"] - 1) + _shown[u["code"]] for u in _report_units}
top = ui.read(org.scope_top, who)
c1, c2 = st.columns([2, 1])
# a user held to some units has no "all" to choose: only their own
everything = [] if ui.read(org.scope_codes, who) is not None else [None]
unit_code = c1.selectbox(t("page.reports.unit"), [*everything, *units], key="reports_unit",
                         format_func=lambda c: (t("drill.report_all", unit=top["name"]) if top else
                                                t("page.reports.all_units")) if c is None else units[c])
fmt = c2.radio(t("page.reports.format"), reports.FORMATS, format_func=lambda f: t(f"page.reports.format_{f}"),
               horizontal=True, key="reports_format")
st.markdown(t("page.reports.chosen", period=reports.period_text(label)))
# Nobody to issue the report (a fresh install, or a database without a tree): say so before the button, naming
# where the body is set, rather than print a header made up for someone else.
if ui.read(org.issuer, metrics.parse_period(label).end) is None:
    st.warning(str(org.NoIssuingBody(metrics.parse_period(label).end)), icon=":material/warning:")
if fmt == "pdf" and not pdf.available():  # say what to install before the button, not after a minute's work
    st.warning(pdf.message("missing"), icon=":material/warning:")

choice = (label, unit_code, fmt)
if st.button(t("page.reports.generate"), type="primary", key="reports_generate", icon=":material/description:"):
    bar = st.progress(0.0, text=t("page.reports.working"))

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    try:
        content = ui.read(reports.builder(fmt), label, unit_code, progress=progress)
    except (ValueError, pdf.PdfUnavailable) as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        st.session_state["reports_file"] = {"choice": choice, "data": content,
                                            "name": reports.file_name(label, fmt, unit_code)}

made = st.session_state.get("reports_file")
if made and made["choice"] == choice:
    mime = reports.MIMES[fmt]
    st.success(t("page.reports.ready", name=made["name"]), icon=":material/check_circle:")
    st.download_button(t("page.reports.download"), made["data"], made["name"], mime, key="reports_download",
                       icon=":material/download:")

st.divider()
st.subheader(t("page.reports.leader_section"))
st.caption(t("page.reports.leader_help"))
attended = ui.display(ui.read(reports.attended_meetings, label, unit_code))
if not attended:
    st.info(t("page.reports.no_attended", period=reports.period_text(label)), icon=":material/info:")
else:
    rows = {(r["meeting_id"], r["leader_id"]): r for r in attended}
    pick = st.selectbox(
        t("page.reports.pick_meeting"), list(rows),
        format_func=lambda k: t("page.reports.meeting_option", day=ui.fmt_date(rows[k]["held_on"]),
                                cell=rows[k]["cell_name"], unit=rows[k]["unit_name"],
                                leader=rows[k]["full_name"]),
        key="reports_leader_pick")
    row = rows[pick]
    try:
        content = ui.read(reports.leader_report_docx, row["meeting_id"], row["leader_id"])
    except org.NoIssuingBody as exc:
        st.warning(str(exc), icon=":material/warning:")
        st.stop()
    name = f"bao-cao-du-sinh-hoat-{row['meeting_id']}-{row['leader_code']}"
    c1, c2 = st.columns(2)
    c1.download_button(t("page.reports.download_leader"), content, f"{name}.docx", reports.DOCX_MIME,
                       key="reports_leader_download", icon=":material/download:")
    if pdf.available():  # the PDF is made only when asked for: LibreOffice takes a few seconds
        c2.download_button(t("pdfcharts.download_leader_pdf"), lambda: pdf.docx_to_pdf(content), f"{name}.pdf",
                           pdf.PDF_MIME, key="reports_leader_download_pdf", icon=":material/picture_as_pdf:")
    else:
        c2.caption(pdf.message("missing"))
