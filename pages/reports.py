"""Reports (admin, viewer): drafts and the register of issued reports (the board drafts and issues, viewers
download what was issued), a quick export of a period's report or workbook, and a leader's written report."""

from datetime import date

import streamlit as st

from lib import metrics, org, pdf, register, reports, store, ui
from lib.domain import Role
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

# ---- drafts (the Organisation Board) and the register of issued reports (board and viewers), branch register ----
st.divider()
st.subheader(t("register.page.section"))
st.caption(t("register.page.help"))
unit_shown = "" if unit_code is None else f" — {units[unit_code].strip()}"
if who.role == Role.ADMIN:
    draft = ui.read(register.current_draft, who, label, unit_code)
    if draft is None:
        st.info(t("register.page.no_draft"), icon=":material/info:")
        if st.button(t("register.page.open_draft"), key="reg_open", icon=":material/edit_document:"):
            if ui.write(register.open_draft, label, unit_code):
                st.rerun()
    else:
        prefix = "reg_"
        st.markdown("**" + t("register.page.draft_title", period=reports.period_text(label), unit=unit_shown) + "**")
        st.caption(t("register.page.continue_note", version=draft["version"], id=draft["id"], by=draft["updated_by"],
                     at=ui.fmt_datetime(draft["updated_at"])))
        if ui.needs_load(prefix, draft["id"], register.SECTIONS):
            ui.init_state(prefix, {**register.narrative(draft), "version": draft["form_version"],
                                   "for": draft["id"]}, force=True)
        ui.stale_form(prefix, ui.read(store.changed_since, "report_drafts", draft["id"], st.session_state[
            prefix + "version"]))
        diff = ui.read(register.changes, who, draft["id"])
        if diff is None:
            st.caption(t("register.page.first_version"))
        else:
            st.markdown(t("register.page.version_note", version=draft["version"], symbol=diff["base"]["symbol"],
                          day=ui.fmt_date(diff["base"]["issued_on"])))
            if diff["figures"]:
                st.markdown(t("register.page.changed_figures"))
                ui.table(diff["figures"], {"part": t("register.page.col_part"), "row": t("register.page.col_row"),
                                           "figure": t("register.page.col_figure"),
                                           "old": t("register.page.col_old"), "new": t("register.page.col_new")},
                         "thay-doi-so-lieu", "reg_changes")
            else:
                st.caption(t("register.page.no_changed_figures"))
            st.caption(t("register.page.changed_sections", names=", ".join(
                t(f"register.section.{s}") for s in diff["sections"])) if diff["sections"]
                else t("register.page.no_changed_sections"))
        for name in register.SECTIONS:
            st.text_area(t(f"register.section.{name}"), key=prefix + name, height=140,
                         max_chars=register.SECTION_MAX, help=t("register.page.section_help"))
        typed = {name: st.session_state[prefix + name] for name in register.SECTIONS}

        def save() -> bool:
            saved = ui.write(register.save_sections, draft["id"], typed, st.session_state[prefix + "version"])
            if saved:
                st.session_state[prefix + "version"] = saved["form_version"]
            return bool(saved)

        c1, c2 = st.columns(2)
        if c1.button(t("register.page.save"), key="reg_save", type="primary", icon=":material/save:") and save():
            st.success(t("register.page.saved"), icon=":material/check_circle:")
        if c2.button(t("register.page.make_preview"), key="reg_preview_make", icon=":material/preview:") and save():
            try:
                st.session_state["reg_preview"] = (draft["id"], ui.read(register.draft_docx, who, draft["id"]))
            except ValueError as exc:
                st.error(str(exc), icon=":material/error:")
        preview = st.session_state.get("reg_preview")
        if preview and preview[0] == draft["id"]:
            st.download_button(t("register.page.preview"), preview[1], f"du-thao-{label}.docx", reports.DOCX_MIME,
                               key="reg_preview_download", icon=":material/download:")
        st.markdown("**" + t("register.page.issue_title") + "**")
        st.caption(t("register.page.issue_help", body=draft["committee"], year=date.today().year))
        confirmed = st.checkbox(t("register.page.issue_confirm"), key="reg_confirm")
        if st.button(t("register.page.issue_button"), key="reg_issue", icon=":material/verified:"):
            if not confirmed:
                st.error(t("register.page.issue_needs_confirm"), icon=":material/error:")
            elif save():
                with st.spinner(t("register.page.working")):
                    entry = ui.write(register.issue, draft["id"], st.session_state[prefix + "version"],
                                     own_transaction=True)  # the files made without holding the write lock
                if entry:
                    ui.clear_state(prefix)  # the draft's form, confirmation and preview start afresh
                    st.session_state["reg_issued"] = entry["id"]
                    st.rerun()
elif who.role == Role.VIEWER:
    st.caption(t("register.page.viewer_note"))

st.markdown("**" + t("register.page.register_title") + "**")
entries = ui.read(register.register_list, who)
if not entries:
    st.info(t("register.page.register_empty"), icon=":material/info:")
else:
    just = next((e for e in entries if e["id"] == st.session_state.get("reg_issued")), None)
    if just:
        st.success(t("register.page.issued", symbol=just["symbol"], day=ui.fmt_date(just["issued_on"])),
                   icon=":material/check_circle:")
        if just["pdf_note"]:
            st.warning(t("register.page.issued_no_pdf", why=t(f"register.page.why_{just['pdf_note']}")),
                       icon=":material/warning:")
    names = {u["code"]: u["name"] for u in _report_units}
    shown_rows = [{**e, "period_text": reports.period_text(e["period"]),
                   "unit": (names.get(e["unit_code"], e["unit_code"]) if e["unit_code"]
                            else t("register.page.home_node")),
                   "pdf": t("report.yes") if e["has_pdf"] else t("report.no")} for e in entries]
    ui.table(shown_rows, {"symbol": t("register.page.col_symbol"), "issued_on": t("register.page.col_issued_on"),
                          "period_text": t("register.page.col_period"), "unit": t("register.page.col_unit"),
                          "version": t("register.page.col_version"), "issued_by": t("register.page.col_issued_by"),
                          "pdf": t("register.page.col_pdf")},
             "so-dang-ky-bao-cao", "reg_register", dates=("issued_on",))
    by_id = {r["id"]: r for r in shown_rows}
    picked = st.selectbox(t("register.page.pick_entry"), list(by_id), key="reg_pick", format_func=lambda i: t(
        "register.page.entry_option", symbol=by_id[i]["symbol"], day=ui.fmt_date(by_id[i]["issued_on"]),
        period=by_id[i]["period_text"], unit=f" — {by_id[i]['unit']}", version=by_id[i]["version"]))
    entry = by_id[picked]
    cols = st.columns(4)
    for col, kind in zip(cols, ("docx", "pdf", "xlsx", "json"), strict=True):
        if kind == "pdf" and not entry["has_pdf"]:
            col.caption(t("register.page.no_pdf", why=t(f"register.page.why_{entry['pdf_note'] or 'missing'}")))
            continue
        data, name, mime = ui.read(register.issued_file, who, picked, kind)
        col.download_button(t(f"register.page.download_{kind}"), data, name, mime, key=f"reg_download_{kind}",
                            icon=":material/download:")
    st.caption(t("register.page.sha", sha=entry["docx_sha256"]))

# ---- quick export (no number, not entered in the register) ----------------------------------------------------
st.divider()
st.subheader(t("register.page.quick"))
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
