import pandas as pd
import streamlit as st

from lib import config, forms, importer, ui
from lib.i18n import t

who = ui.require_page("pages/import_data.py")
st.title(t("nav.import"))
st.caption(t("page.import.intro"))

flash = st.session_state.pop("imp_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

kinds = {k: t(f"import.kind.{k}") for k in forms.import_kinds(who)}
c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
kind = ui.field_input("imp_", "kind", kinds, label=t("page.import.kind"), where=c1)
# Built when clicked: the template lists the user's own cells and leaders (a lookup sheet) from the database.
path = config.db_path()
c2.download_button(t("page.import.template"), lambda: forms.import_template(path, who, kind), f"mau_{kind}.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="imp_template",
                   icon=":material/download:")
st.caption(t("page.import.columns", columns=", ".join(importer.COLUMNS[kind])))

# A new key after each import empties the uploader.
round_no = st.session_state.setdefault("imp_round", 0)
upload = st.file_uploader(t("page.import.file"), type=["csv", "xlsx"], key=f"imp_file_{round_no}",
                          help=t("page.import.file_help"))
if upload is None:
    st.stop()

data, name = upload.getvalue(), upload.name
# Checking a large file takes a while: keep the preview until another file or kind is chosen.
token = (kind, upload.file_id, len(data))
if st.session_state.get("imp_preview", (None,))[0] != token:
    with st.spinner(t("page.import.extra.checking")):
        st.session_state["imp_preview"] = (token, importer.preview(config.db_path(), kind, data, name, who))
result = st.session_state["imp_preview"][1]

st.subheader(t("page.import.preview"), divider="gray")
if result.rows:
    columns = ["_row"] + [c for c in importer.COLUMNS[kind] if any(c in r for r in result.rows)]
    headers = {c: t("field.row") if c == "_row" else t(f"field.{c}") for c in columns}
    # Every value is shown as text in dataframe cells, never interpreted as Markdown or HTML.
    st.dataframe(pd.DataFrame([{headers[c]: ("" if r.get(c) is None else str(r.get(c))) for c in columns}
                               for r in result.rows]), hide_index=True, key="imp_rows")

if result.errors:
    st.error(result.summary(), icon=":material/error:")
    # A whole-file error (a missing column, an unreadable file) has no row: "cả tệp", never "None".
    st.dataframe(pd.DataFrame([{t("field.row"): t("page.import.whole_file") if e.row is None else str(e.row),
                                t("page.import.column"): e.label,
                                t("page.import.code"): e.field or "", t("page.import.problem"): e.message}
                               for e in result.errors]), hide_index=True, key="imp_errors", width="stretch",
                 # set widths, so that the problem (the last column) is in sight at 1440 px, not cut off
                 column_config={t("field.row"): st.column_config.Column(width=70),
                                t("page.import.column"): st.column_config.Column(width=150),
                                t("page.import.code"): st.column_config.Column(width=130),
                                t("page.import.problem"): st.column_config.Column(width=560)})
    st.stop()

st.info(result.summary(), icon=":material/fact_check:")
if st.button(t("page.import.run", count=result.count), type="primary", key="imp_run", icon=":material/upload:"):
    bar = st.progress(0.0, text=t("page.import.progress", done=0, total=result.count))
    step = max(1, result.count // 50)

    def progress(done: int, total: int) -> None:
        if done == total or done % step == 0:
            bar.progress(done / total, text=t("page.import.progress", done=done, total=total))

    # Not ui.write: the rows are checked outside any write lock and written in one short
    # transaction of the importer's own, so other users can save and log in meanwhile.
    outcome = forms.import_file(config.db_path(), who, kind, data, name, progress=progress)
    if outcome.written:
        # No cache clearing: the import's audit entries give the data a new version, which every cached figure
        # is keyed by; clearing would also throw away the figures other sessions share (other files, other days).
        st.session_state["imp_round"] = round_no + 1
        st.session_state["imp_flash"] = outcome.summary()
        st.rerun()
    else:
        st.error(outcome.summary(), icon=":material/error:")
        for line in outcome.error_lines():
            st.text(line)
